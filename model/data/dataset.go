// Package data holds goresnet's datasets: the manifest and shard files an
// import writes (see package shard for the record format), the sources
// they are read from (a folder, or HTTP in the browser), and the input
// pipeline that feeds training: seeded per-epoch shuffling across shards,
// batching, prefetching, caching, augmentation and normalisation.
//
// Everything here builds for GOOS=js GOARCH=wasm, because the browser's
// workers run the same pipeline as the native trainer.
package data

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/goresnet/goresnet/model/data/shard"
)

// Dataset is an opened dataset: a validated manifest and where its shards
// are.
type Dataset struct {
	Manifest *Manifest
	Source   Source
	// Cache, if set, keeps verified shards so they are read once.
	Cache Cache
}

// Open reads and validates a dataset's manifest. cache may be nil.
func Open(ctx context.Context, src Source, cache Cache) (*Dataset, error) {
	rc, _, err := src.Open(ctx, ManifestName)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", src, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %s: %w", src, ManifestName, err)
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", src, err)
	}
	return &Dataset{Manifest: m, Source: src, Cache: cache}, nil
}

// OpenPath opens a dataset folder or URL (see OpenSource).
func OpenPath(ctx context.Context, loc string, cache Cache) (*Dataset, error) {
	src, err := OpenSource(loc)
	if err != nil {
		return nil, err
	}
	return Open(ctx, src, cache)
}

// ErrChecksum is wrapped by the error for a shard whose sha256 does not
// match its manifest.
var ErrChecksum = errors.New("sha256 mismatch")

// Shard returns shard i of a split, from the cache or read from the source
// and verified: its byte size and sha256 must match the manifest, its
// header the manifest's geometry and record count, and its labels the
// class count. Errors name the dataset and the shard file.
func (d *Dataset) Shard(ctx context.Context, split string, i int) (*shard.Shard, error) {
	sp, err := d.Manifest.Split(split)
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= len(sp.Shards) {
		return nil, fmt.Errorf("dataset %s: split %s has %d shards, no shard %d", d.Manifest.Name, split, len(sp.Shards), i)
	}
	info := sp.Shards[i]
	if d.Cache != nil {
		if b, ok := d.Cache.Get(info.SHA256); ok {
			if s, err := d.check(info, b); err == nil {
				return s, nil
			}
		}
	}
	b, err := d.fetch(ctx, info)
	if err != nil {
		return nil, err
	}
	s, err := d.check(info, b)
	if err != nil {
		return nil, err
	}
	if d.Cache != nil {
		d.Cache.Put(info.SHA256, b)
	}
	return s, nil
}

func (d *Dataset) errorf(info ShardInfo, format string, args ...any) error {
	return fmt.Errorf("dataset %s: shard %s: %w", d.Manifest.Name, info.File, fmt.Errorf(format, args...))
}

// fetch reads a shard whole and checks its size and sha256.
func (d *Dataset) fetch(ctx context.Context, info ShardInfo) ([]byte, error) {
	rc, size, err := d.Source.Open(ctx, info.File)
	if err != nil {
		return nil, d.errorf(info, "%w", err)
	}
	defer rc.Close()
	if size >= 0 && size != info.Bytes {
		return nil, d.errorf(info, "%d bytes, but the manifest says %d", size, info.Bytes)
	}
	var b []byte
	if size == info.Bytes {
		// The source vouches for the size: read into one allocation.
		b = make([]byte, info.Bytes)
		if _, err := io.ReadFull(rc, b); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return nil, d.errorf(info, "shorter than the %d bytes the manifest says", info.Bytes)
			}
			return nil, d.errorf(info, "%w", err)
		}
		var one [1]byte
		if n, _ := io.ReadFull(rc, one[:]); n > 0 {
			return nil, d.errorf(info, "longer than the %d bytes the manifest says", info.Bytes)
		}
	} else {
		// Size unknown (a chunked HTTP response): grow as the data
		// arrives, rather than allocating what the manifest says (up to
		// MaxShardBytes) for a response that may be a few bytes.
		var buf bytes.Buffer
		buf.Grow(int(min(info.Bytes, 1<<20)))
		if _, err := buf.ReadFrom(io.LimitReader(rc, info.Bytes+1)); err != nil {
			return nil, d.errorf(info, "%w", err)
		}
		switch n := int64(buf.Len()); {
		case n < info.Bytes:
			return nil, d.errorf(info, "shorter than the %d bytes the manifest says", info.Bytes)
		case n > info.Bytes:
			return nil, d.errorf(info, "longer than the %d bytes the manifest says", info.Bytes)
		}
		b = buf.Bytes()
	}
	if got := sha256Hex(b); got != info.SHA256 {
		return nil, d.errorf(info, "%w: the file's sha256 is %s, the manifest says %s", ErrChecksum, got, info.SHA256)
	}
	return b, nil
}

// check parses a shard and compares it with the manifest.
func (d *Dataset) check(info ShardInfo, b []byte) (*shard.Shard, error) {
	s, err := shard.Parse(b)
	if err != nil {
		return nil, d.errorf(info, "%w", err)
	}
	want := d.Manifest.RecordHeader(info.Records)
	if s.Header != want {
		return nil, d.errorf(info, "header says %d records of %dx%dx%d, the manifest says %d records of %dx%dx%d",
			s.Records, s.Height, s.Width, s.Channels, want.Records, want.Height, want.Width, want.Channels)
	}
	if err := s.CheckLabels(len(d.Manifest.Classes)); err != nil {
		return nil, d.errorf(info, "%w", err)
	}
	return s, nil
}

// Verify reads every shard of the given splits (all when none are named)
// and checks it against the manifest; progress, if not nil, is called
// after each shard.
func (d *Dataset) Verify(ctx context.Context, progress func(split string, i, n int), splits ...string) error {
	if len(splits) == 0 {
		splits = d.Manifest.SplitNames()
	}
	for _, name := range splits {
		sp, err := d.Manifest.Split(name)
		if err != nil {
			return err
		}
		for i, info := range sp.Shards {
			b, err := d.fetch(ctx, info)
			if err != nil {
				return err
			}
			if _, err := d.check(info, b); err != nil {
				return err
			}
			if progress != nil {
				progress(name, i, len(sp.Shards))
			}
		}
	}
	return nil
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
