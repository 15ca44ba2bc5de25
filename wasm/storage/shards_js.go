//go:build js && wasm

package storage

import (
	"context"
	"syscall/js"
	"time"

	"github.com/goresnet/goresnet/model/data"
)

// ShardCache is a data.Cache on Cache Storage (the cache ShardCacheName),
// shared by the page and every worker of the origin and kept across
// reloads, so a dataset downloads once. Entries are keyed by the shard's
// sha256; NewShardCache wraps the cache with data.Verifying, so a damaged
// entry is re-hashed, treated as missing and downloaded again.
type ShardCache struct {
	timeout time.Duration
}

// NewShardCache returns the persistent shard cache as a data.Cache
// (verifying what it returns). Where Cache Storage is unavailable it
// caches nothing.
func NewShardCache() data.Cache { return data.Verifying(&ShardCache{timeout: 5 * time.Minute}) }

// shardURL is the cache key of a shard: a URL that is never fetched.
func shardURL(sha string) string { return "/goresnet-shard-cache/" + sha }

func (c *ShardCache) open(ctx context.Context) (js.Value, bool) {
	caches := js.Global().Get("caches")
	if !caches.Truthy() {
		return js.Undefined(), false
	}
	cache, err := awaitPromise(ctx, "opening the shard cache", caches.Call("open", ShardCacheName))
	return cache, err == nil && cache.Truthy()
}

// Get implements data.Cache.
func (c *ShardCache) Get(sha string) ([]byte, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	cache, ok := c.open(ctx)
	if !ok {
		return nil, false
	}
	resp, err := awaitPromise(ctx, "reading the shard cache", cache.Call("match", shardURL(sha)))
	if err != nil || !resp.Truthy() {
		return nil, false
	}
	ab, err := awaitPromise(ctx, "reading a cached shard", resp.Call("arrayBuffer"))
	if err != nil {
		return nil, false
	}
	b, err := bytesFromJS(ctx, ab)
	return b, err == nil
}

// Put implements data.Cache. A failure (the quota, say) only means the
// shard is downloaded again next time.
func (c *ShardCache) Put(sha string, b []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	cache, ok := c.open(ctx)
	if !ok {
		return
	}
	headers := js.Global().Get("Object").New()
	headers.Set("content-type", "application/octet-stream")
	init := js.Global().Get("Object").New()
	init.Set("headers", headers)
	resp := js.Global().Get("Response").New(js.Global().Get("Uint8Array").New(bytesToJS(b)), init)
	awaitPromise(ctx, "caching a shard", cache.Call("put", shardURL(sha), resp))
}

// ShardCacheUsage counts the cached shards.
func ShardCacheUsage(ctx context.Context) (shards int, err error) {
	caches := js.Global().Get("caches")
	if !caches.Truthy() {
		return 0, nil
	}
	cache, err := awaitPromise(ctx, "opening the shard cache", caches.Call("open", ShardCacheName))
	if err != nil {
		return 0, err
	}
	keys, err := awaitPromise(ctx, "listing the shard cache", cache.Call("keys"))
	if err != nil {
		return 0, err
	}
	return keys.Length(), nil
}

// ClearShardCache deletes every cached shard.
func ClearShardCache(ctx context.Context) error {
	caches := js.Global().Get("caches")
	if !caches.Truthy() {
		return nil
	}
	_, err := awaitPromise(ctx, "clearing the shard cache", caches.Call("delete", ShardCacheName))
	return err
}
