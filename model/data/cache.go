package data

import (
	"container/list"
	"sync"
)

// Cache keeps shard files, keyed by their sha256, so that a dataset is
// read from its source once. Dataset.Shard verifies what it reads from the
// source before it calls Put, and parses and re-checks (size, header,
// labels) what Get returns; a cache backed by storage that can be damaged
// (the browser's Cache Storage or OPFS) should also re-hash on Get, or be
// wrapped with Verifying.
//
// Natively a MemoryCache keeps a dataset in memory when it fits; the
// browser worker plugs in a persistent cache so a dataset downloads once.
type Cache interface {
	Get(sha256 string) ([]byte, bool)
	Put(sha256 string, data []byte)
}

// MemoryCache is a Cache in memory with a byte budget; when a Put goes
// over it, the least recently used shards are dropped. Safe for concurrent
// use.
type MemoryCache struct {
	mu      sync.Mutex
	max     int64
	used    int64
	order   *list.List // front: most recently used
	entries map[string]*list.Element
}

type memEntry struct {
	key  string
	data []byte
}

// NewMemoryCache makes a cache that holds at most maxBytes of shards.
func NewMemoryCache(maxBytes int64) *MemoryCache {
	return &MemoryCache{max: maxBytes, order: list.New(), entries: map[string]*list.Element{}}
}

// Get implements Cache.
func (c *MemoryCache) Get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*memEntry).data, true
}

// Put implements Cache. A shard larger than the whole budget is not kept.
func (c *MemoryCache) Put(key string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if int64(len(data)) > c.max {
		return
	}
	if e, ok := c.entries[key]; ok {
		c.order.MoveToFront(e)
		return
	}
	for c.used+int64(len(data)) > c.max {
		last := c.order.Back()
		le := last.Value.(*memEntry)
		c.order.Remove(last)
		delete(c.entries, le.key)
		c.used -= int64(len(le.data))
	}
	c.entries[key] = c.order.PushFront(&memEntry{key, data})
	c.used += int64(len(data))
}

// Bytes is the size of what the cache holds.
func (c *MemoryCache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

// Verifying wraps a cache so that Get re-hashes what it returns and
// treats a mismatch as a miss.
func Verifying(c Cache) Cache { return verifying{c} }

type verifying struct{ c Cache }

func (v verifying) Get(key string) ([]byte, bool) {
	b, ok := v.c.Get(key)
	if !ok || sha256Hex(b) != key {
		return nil, false
	}
	return b, true
}

func (v verifying) Put(key string, data []byte) { v.c.Put(key, data) }
