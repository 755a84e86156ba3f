package serve

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watch reloads the file when it changes, until ctx ends. It watches the
// file's directory, not the file, so that editors that save by renaming a
// new file over the old one (and Kubernetes ConfigMap symlink swaps) are
// seen. Events are debounced: the reload runs once the file has been quiet
// for ReloadDebounce, and only if its content changed.
func (s *Server) watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	file, err := filepath.Abs(s.cfg.File)
	if err != nil {
		w.Close()
		return err
	}
	dir, base := filepath.Dir(file), filepath.Base(file)
	if err := w.Add(dir); err != nil {
		w.Close()
		return err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer w.Close()
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				name := filepath.Base(ev.Name)
				if name != base && !strings.HasPrefix(name, "..") {
					continue
				}
				timer.Reset(s.cfg.ReloadDebounce)
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				s.log.Warn("watching for changes", "dir", dir, "err", err)
			case <-timer.C:
				if h := fileHash(s.cfg.File); h == 0 || h == s.lastHash.Load() {
					continue // removed (an editor's save in progress) or unchanged
				}
				s.Reload()
			}
		}
	}()
	return nil
}
