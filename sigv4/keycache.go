package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"sync"
)

// maxCachedKeys bounds the derived signing key cache. A key is derived per
// secret, day, region and service, so a handful of entries serve a busy
// server; the bound only matters against clients cycling through regions.
const maxCachedKeys = 4096

type keyCacheKey struct {
	secret, date, region, service string
}

// keyCache caches derived signing keys. The zero value is ready to use.
type keyCache struct {
	mu sync.RWMutex
	m  map[keyCacheKey][32]byte
}

// signingKey returns the SigV4 signing key
//
//	HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")
//
// from the cache, deriving and caching it on a miss.
func (c *keyCache) signingKey(secret, date, region, service string) [32]byte {
	k := keyCacheKey{secret, date, region, service}
	c.mu.RLock()
	key, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return key
	}
	key = deriveKey(secret, date, region, service)
	// date, region and service point into the request; copy them so that the
	// cache does not keep requests alive.
	k.date, k.region, k.service = strings.Clone(date), strings.Clone(region), strings.Clone(service)
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[keyCacheKey][32]byte)
	}
	if len(c.m) >= maxCachedKeys {
		for old := range c.m { // evict an arbitrary entry
			delete(c.m, old)
			break
		}
	}
	c.m[k] = key
	c.mu.Unlock()
	return key
}

func deriveKey(secret, date, region, service string) [32]byte {
	mac := func(key []byte, data string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(data))
		return h.Sum(nil)
	}
	k := mac([]byte("AWS4"+secret), date)
	k = mac(k, region)
	k = mac(k, service)
	k = mac(k, scopeTerminator)
	return [32]byte(k)
}
