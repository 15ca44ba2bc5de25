package shard

import (
	"testing"

	"github.com/goresnet/goresnet/internal/fuzzcorpus"
)

// TestWriteCorpus adds truncations and bit flips of the hand-made entries
// of FuzzParse's seed corpus (GORESNET_WRITE_CORPUS=1, make fuzz-corpus).
func TestWriteCorpus(t *testing.T) {
	fuzzcorpus.SkipUnlessEnabled(t)
	w := fuzzcorpus.New(t, "FuzzParse")
	w.AddVariantsOfEntries(6)
	w.Done()
}
