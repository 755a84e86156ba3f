package replay

// SetBounds lowers the bounds of what a run remembers, so that a test can
// show memory stays flat once they are reached; it returns a function that
// restores them.
func SetBounds(producers, seen int) (restore func()) {
	p, s := producerEntries, seenEntries
	producerEntries, seenEntries = producers, seen
	return func() { producerEntries, seenEntries = p, s }
}
