package store

import (
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// releasePages tells the kernel this process is done with the file pages it
// has read so far. A long scan touches every page of the mapping, and without
// this they would all count in the process's resident memory; the data stays
// in the page cache, so pages read again fault back in cheaply.
func releasePages(b *bolt.DB, size int64) {
	info := b.Info()
	if info == nil || info.Data == 0 || size <= 0 {
		return
	}
	syscall.Syscall(syscall.SYS_MADVISE, info.Data, uintptr(size), syscall.MADV_DONTNEED)
}
