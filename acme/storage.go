// Package acme obtains and renews the certificates of custom domains from
// an ACME CA (Let's Encrypt, or Pebble in tests) with certmagic. Everything
// certmagic keeps (certificates, private keys, ACME accounts, the
// challenges in flight) lives in OpenRunner's store through Storage, so a
// restarted server keeps its certificates and several servers on one store
// can share them; its locks are the store's leases.
package acme

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/vault"
)

// Storage is certmagic's Storage on an openrunner.BlobService. Values are
// sealed by the vault (bound to their key), so private keys are never
// stored in the clear; locks are leases on "acme/lock/<name>".
type Storage struct {
	Blobs  openrunner.BlobService
	Leases openrunner.LeaseService
	Vault  *vault.Vault
	// Holder names this server in the leases.
	Holder string
	// LockTTL is how long a lock outlives a server that died holding it;
	// held locks are renewed every LockTTL/3. Default 2 minutes.
	LockTTL time.Duration
	// LockPoll is how often a blocked Lock tries again; default 250 ms.
	LockPoll time.Duration

	mu    sync.Mutex
	locks map[string]*heldLock
	seq   int
}

type heldLock struct {
	holder string
	stop   context.CancelFunc
	done   chan struct{}
}

var (
	_ certmagic.Storage          = (*Storage)(nil)
	_ certmagic.TryLocker        = (*Storage)(nil)
	_ certmagic.LockLeaseRenewer = (*Storage)(nil)
)

func (s *Storage) seal(key string, value []byte) []byte { return s.Vault.Seal(value, "acme:"+key) }

// Store implements certmagic.Storage.
func (s *Storage) Store(ctx context.Context, key string, value []byte) error {
	return s.Blobs.PutBlob(ctx, key, s.seal(key, value))
}

// Load implements certmagic.Storage; a missing key is fs.ErrNotExist.
func (s *Storage) Load(ctx context.Context, key string) ([]byte, error) {
	v, _, err := s.Blobs.FindBlob(ctx, key)
	if openrunner.ErrorCode(err) == openrunner.ENOTFOUND {
		return nil, fs.ErrNotExist
	} else if err != nil {
		return nil, err
	}
	return s.open(key, v)
}

func (s *Storage) open(key string, sealed []byte) ([]byte, error) {
	pt, err := s.Vault.Open(sealed, "acme:"+key)
	if err != nil {
		return nil, fmt.Errorf("acme storage: %s: %w", key, err)
	}
	return pt, nil
}

// Delete implements certmagic.Storage: key and every key under it.
func (s *Storage) Delete(ctx context.Context, key string) error {
	if err := s.Blobs.DeleteBlobs(ctx, key); err != nil && openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
		return err
	}
	return nil
}

// Exists implements certmagic.Storage.
func (s *Storage) Exists(ctx context.Context, key string) bool {
	ok, _, err := s.Blobs.FindBlobKey(ctx, key)
	return err == nil && ok
}

// List implements certmagic.Storage.
func (s *Storage) List(ctx context.Context, path string, recursive bool) ([]string, error) {
	keys, err := s.Blobs.ListBlobs(ctx, path, recursive)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fs.ErrNotExist
	}
	return keys, nil
}

// Stat implements certmagic.Storage.
func (s *Storage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	v, at, err := s.Blobs.FindBlob(ctx, key)
	if err == nil {
		pt, err := s.open(key, v)
		if err != nil {
			return certmagic.KeyInfo{}, err
		}
		return certmagic.KeyInfo{Key: key, Modified: at, Size: int64(len(pt)), IsTerminal: true}, nil
	} else if openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
		return certmagic.KeyInfo{}, err
	}
	if ok, dir, err := s.Blobs.FindBlobKey(ctx, key); err != nil {
		return certmagic.KeyInfo{}, err
	} else if ok && dir {
		return certmagic.KeyInfo{Key: key}, nil
	}
	return certmagic.KeyInfo{}, fs.ErrNotExist
}

func (s *Storage) ttl() time.Duration {
	if s.LockTTL > 0 {
		return s.LockTTL
	}
	return 2 * time.Minute
}

func lockKey(name string) string { return "acme/lock/" + name }

// Lock implements certmagic.Locker: it blocks until this caller holds the
// lease on name, or ctx ends.
func (s *Storage) Lock(ctx context.Context, name string) error {
	poll := s.LockPoll
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	for {
		ok, err := s.TryLock(ctx, name)
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// TryLock implements certmagic.TryLocker. Each Lock has a holder of its
// own, so two goroutines of one server exclude each other too.
func (s *Storage) TryLock(ctx context.Context, name string) (bool, error) {
	s.mu.Lock()
	if s.locks == nil {
		s.locks = map[string]*heldLock{}
	}
	if s.locks[name] != nil {
		s.mu.Unlock()
		return false, nil
	}
	s.seq++
	holder := fmt.Sprintf("%s/%d", s.Holder, s.seq)
	s.mu.Unlock()

	ok, err := s.Leases.AcquireLease(ctx, lockKey(name), holder, s.ttl())
	if err != nil || !ok {
		return false, err
	}
	renew, stop := context.WithCancel(context.Background())
	h := &heldLock{holder: holder, stop: stop, done: make(chan struct{})}
	s.mu.Lock()
	if s.locks[name] != nil { // another goroutine of this server won meanwhile
		s.mu.Unlock()
		stop()
		return false, nil
	}
	s.locks[name] = h
	s.mu.Unlock()
	go s.renew(renew, name, h)
	return true, nil
}

// renew extends a held lock every TTL/3 until Unlock.
func (s *Storage) renew(ctx context.Context, name string, h *heldLock) {
	defer close(h.done)
	t := time.NewTicker(s.ttl() / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = s.Leases.AcquireLease(ctx, lockKey(name), h.holder, s.ttl())
		}
	}
}

// RenewLockLease implements certmagic.LockLeaseRenewer.
func (s *Storage) RenewLockLease(ctx context.Context, name string, d time.Duration) error {
	s.mu.Lock()
	h := s.locks[name]
	s.mu.Unlock()
	if h == nil {
		return fmt.Errorf("acme storage: lock %s is not held", name)
	}
	ok, err := s.Leases.AcquireLease(ctx, lockKey(name), h.holder, max(d, s.ttl()))
	if err == nil && !ok {
		err = fmt.Errorf("acme storage: lock %s was lost", name)
	}
	return err
}

// Unlock implements certmagic.Locker.
func (s *Storage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	h := s.locks[name]
	delete(s.locks, name)
	s.mu.Unlock()
	if h == nil {
		return errors.New("acme storage: unlock of a lock not held: " + name)
	}
	h.stop()
	<-h.done
	return s.Leases.ReleaseLease(ctx, lockKey(name), h.holder)
}
