package edge

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// DefaultCheckInterval is how often KeyPair looks at its files, at most.
const DefaultCheckInterval = time.Second

// KeyPair is a certificate and key loaded from PEM files and reloaded when
// either file changes (modification time or size), so that a renewed
// certificate is served without a restart. A reload that fails (a file
// half-written, a key that does not match) keeps the previous pair and logs
// a warning; it is tried again at the next change.
type KeyPair struct {
	certFile, keyFile string
	// CheckInterval is the least time between two looks at the files;
	// zero means every handshake.
	CheckInterval time.Duration
	logger        *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]fileStamp
	checked time.Time
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// LoadKeyPair loads certFile and keyFile (PEM; the certificate file may hold
// the chain after the leaf). It fails if they cannot be read or do not
// match. Logger, if not nil, receives reload warnings and notices.
func LoadKeyPair(certFile, keyFile string, logger *slog.Logger) (*KeyPair, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	k := &KeyPair{certFile: certFile, keyFile: keyFile, CheckInterval: DefaultCheckInterval, logger: logger}
	stamp, err := k.stat()
	if err != nil {
		return nil, err
	}
	if err := k.load(stamp); err != nil {
		return nil, err
	}
	return k, nil
}

// Get returns the current pair, reloading it first if the files changed.
// Its Leaf is set.
func (k *KeyPair) Get() *tls.Certificate {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := time.Now()
	if now.Sub(k.checked) < k.CheckInterval {
		return k.cert
	}
	k.checked = now
	stamp, err := k.stat()
	if err != nil {
		k.logger.Warn("cannot read the TLS certificate files; serving the certificate loaded before", "error", err)
		return k.cert
	}
	if stamp != k.stamp {
		// Recorded even if the load fails: a file being written changes
		// again when it is complete, and a bad pair warns once, not every
		// second.
		k.stamp = stamp
		if err := k.load(stamp); err != nil {
			k.logger.Warn("cannot reload the TLS certificate; serving the one loaded before", "error", err)
		} else {
			k.logger.Info("reloaded the TLS certificate", "file", k.certFile, "names", k.cert.Leaf.DNSNames, "not_after", k.cert.Leaf.NotAfter)
		}
	}
	return k.cert
}

func (k *KeyPair) stat() ([2]fileStamp, error) {
	var s [2]fileStamp
	for i, f := range []string{k.certFile, k.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return s, err
		}
		s[i] = fileStamp{fi.ModTime(), fi.Size()}
	}
	return s, nil
}

// load reads the pair; on success it records stamp, so a failed load is
// retried once the files change again.
func (k *KeyPair) load(stamp [2]fileStamp) error {
	c, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s and key %s: %w", k.certFile, k.keyFile, err)
	}
	k.cert = &c
	k.stamp = stamp
	return nil
}
