package data

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/goresnet/goresnet/model/data/shard"
)

// ManifestName is the file name of a dataset's manifest, in the dataset's
// folder (served as /data/NAME/manifest.json).
const ManifestName = "manifest.json"

// MaxShardBytes bounds a shard's size (a shard is held in memory whole;
// the importer writes 32-64 MB).
const MaxShardBytes = 1 << 30

// MaxSplitRecords bounds a split's record count (33,554,432; ImageNet-21k
// has 14 million images). The loader's order of an epoch takes 8 bytes a
// record and is made before any shard is fetched: without a bound a
// manifest of a few hundred kilobytes could declare 2^40 records and make
// a reader allocate terabytes.
const MaxSplitRecords = 1 << 25

// ManifestFormat and ManifestVersion identify the manifest format.
const (
	ManifestFormat  = "goresnet-dataset"
	ManifestVersion = 1
)

// Manifest describes a dataset: its classes, its splits and their shard
// files. Shard file names are relative to the manifest's folder.
type Manifest struct {
	Format      string  `json:"format"`
	Version     int     `json:"version"`
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Image       Image   `json:"image"`
	Classes     []Class `json:"classes"`
	Splits      []Split `json:"splits"`
	// Source says how the dataset was made (informational).
	Source *Provenance `json:"source,omitempty"`
}

// Image is the stored image geometry: uint8 RGB, HWC, Height x Width.
type Image struct {
	Height   int    `json:"height"`
	Width    int    `json:"width"`
	Channels int    `json:"channels"`
	Layout   string `json:"layout"` // "HWC"
	DType    string `json:"dtype"`  // "uint8"
}

// Class is one label; its index in Manifest.Classes is the label value.
type Class struct {
	Name string `json:"name"`
	// Folder is the source folder name, when it differs from Name (e.g.
	// "n02085620-Chihuahua"), and Synset its WordNet id ("n02085620").
	Folder string `json:"folder,omitempty"`
	Synset string `json:"synset,omitempty"`
}

// Split is a named part of the dataset (train, test, ...).
type Split struct {
	Name   string      `json:"name"`
	Count  int         `json:"count"`
	Shards []ShardInfo `json:"shards"`
}

// ShardInfo is one shard file of a split.
type ShardInfo struct {
	File    string `json:"file"`
	Records int    `json:"records"`
	Bytes   int64  `json:"bytes"`
	SHA256  string `json:"sha256"`
}

// Provenance records the import that made a dataset.
type Provenance struct {
	Format string            `json:"format"`
	Splits map[string]string `json:"splits,omitempty"` // output split -> spec
	Seed   uint64            `json:"seed"`
	Resize string            `json:"resize,omitempty"`
}

// ParseManifest decodes and validates a manifest.
func ParseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: not a valid manifest: %w", ManifestName, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: not a valid manifest: data after the JSON object", ManifestName)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestName, err)
	}
	return &m, nil
}

// Marshal encodes the manifest as indented JSON.
func (m *Manifest) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// RecordHeader is the shard header geometry for n records of this dataset.
func (m *Manifest) RecordHeader(n int) shard.Header {
	return shard.Header{Height: m.Image.Height, Width: m.Image.Width, Channels: m.Image.Channels, Records: n}
}

// Split returns the split of that name.
func (m *Manifest) Split(name string) (*Split, error) {
	for i := range m.Splits {
		if m.Splits[i].Name == name {
			return &m.Splits[i], nil
		}
	}
	return nil, fmt.Errorf("dataset %s has no split %q (it has %s)", m.Name, name, strings.Join(m.SplitNames(), ", "))
}

// SplitNames lists the splits in manifest order.
func (m *Manifest) SplitNames() []string {
	var s []string
	for _, sp := range m.Splits {
		s = append(s, sp.Name)
	}
	return s
}

// ClassNames lists the class names in label order.
func (m *Manifest) ClassNames() []string {
	s := make([]string, len(m.Classes))
	for i, c := range m.Classes {
		s[i] = c.Name
	}
	return s
}

// ValidName reports whether s can name a dataset: it becomes a folder and
// a URL path segment (/data/NAME/).
func ValidName(s string) error {
	if s == "" || len(s) > 100 || s[0] == '.' || s[0] == '-' {
		return fmt.Errorf("dataset name %q: want 1-100 letters, digits, '.', '_' or '-', not starting with '.' or '-'", s)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("dataset name %q: want 1-100 letters, digits, '.', '_' or '-', not starting with '.' or '-'", s)
		}
	}
	return nil
}

// validShardFile reports whether a shard's file name is a clean relative
// path inside the dataset folder.
func validShardFile(f string) bool {
	if f == "" || len(f) > 255 || strings.ContainsAny(f, "\\:\x00?#%") || path.IsAbs(f) || path.Clean(f) != f || f == "." || f == ".." || strings.HasPrefix(f, "../") || f == ManifestName {
		return false
	}
	for _, r := range f {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Validate checks the manifest for internal consistency: known format and
// version, image geometry, unique non-empty class and split names, and for
// every split a count equal to the sum of its shards' records, each shard
// of the exact byte size its records need, with a sha256 in hex.
func (m *Manifest) Validate() error {
	if m.Format != ManifestFormat {
		return fmt.Errorf("format is %q, want %q", m.Format, ManifestFormat)
	}
	if m.Version != ManifestVersion {
		return fmt.Errorf("format version %d, this build reads version %d", m.Version, ManifestVersion)
	}
	if err := ValidName(m.Name); err != nil {
		return err
	}
	im := m.Image
	if err := (shard.Header{Height: im.Height, Width: im.Width, Channels: im.Channels}).Check(); err != nil {
		return fmt.Errorf("image: %v", err)
	}
	if im.Layout != "HWC" || im.DType != "uint8" {
		return fmt.Errorf("image: layout %q dtype %q, want HWC uint8", im.Layout, im.DType)
	}
	if len(m.Classes) == 0 {
		return fmt.Errorf("no classes")
	}
	seen := map[string]int{}
	for i, c := range m.Classes {
		if strings.TrimSpace(c.Name) == "" {
			return fmt.Errorf("class %d has no name", i)
		}
		k := strings.ToLower(c.Name)
		if j, ok := seen[k]; ok {
			return fmt.Errorf("classes %d and %d have the same name %q", j, i, c.Name)
		}
		seen[k] = i
	}
	if len(m.Splits) == 0 {
		return fmt.Errorf("no splits")
	}
	splits := map[string]bool{}
	files := map[string]string{}
	rs := int64(m.RecordHeader(0).RecordSize())
	for _, sp := range m.Splits {
		if sp.Name == "" {
			return fmt.Errorf("a split has no name")
		}
		if splits[sp.Name] {
			return fmt.Errorf("split %q appears twice", sp.Name)
		}
		splits[sp.Name] = true
		if sp.Count < 0 {
			return fmt.Errorf("split %q: negative count %d", sp.Name, sp.Count)
		}
		sum := 0
		for _, s := range sp.Shards {
			if !validShardFile(s.File) {
				return fmt.Errorf("split %q: shard file name %q is not a clean relative path", sp.Name, s.File)
			}
			if other, ok := files[s.File]; ok {
				return fmt.Errorf("split %q: shard %s is also listed in split %q", sp.Name, s.File, other)
			}
			files[s.File] = sp.Name
			if s.Records < 1 || s.Records > 1<<31 {
				return fmt.Errorf("split %q: shard %s has %d records", sp.Name, s.File, s.Records)
			}
			if want := shard.HeaderSize + int64(s.Records)*rs; s.Bytes != want || want > MaxShardBytes {
				if want > MaxShardBytes {
					return fmt.Errorf("split %q: shard %s would take %d bytes, above the limit of %d", sp.Name, s.File, want, int64(MaxShardBytes))
				}
				return fmt.Errorf("split %q: shard %s is listed with %d bytes, but %d records of %dx%d RGB take %d", sp.Name, s.File, s.Bytes, s.Records, im.Height, im.Width, want)
			}
			if !isHex64(s.SHA256) {
				return fmt.Errorf("split %q: shard %s: sha256 %q is not 64 lower-case hex digits", sp.Name, s.File, s.SHA256)
			}
			sum += s.Records
			if sum > MaxSplitRecords {
				return fmt.Errorf("split %q: more than %d records", sp.Name, MaxSplitRecords)
			}
		}
		if sum != sp.Count {
			return fmt.Errorf("split %q: count is %d, but its shards hold %d records", sp.Name, sp.Count, sum)
		}
	}
	return nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
