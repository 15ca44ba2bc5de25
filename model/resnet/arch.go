// Package resnet builds ResNet-18/34/50/101/152 from one table, in
// torchvision's v1.5 layout and naming, and runs them forward and backward
// over a workspace planned once per (network, batch, input size).
package resnet

import (
	"fmt"
	"sort"
	"strings"
)

// BlockKind is the residual block a ResNet is made of.
type BlockKind int

const (
	// Basic is two 3x3 convolutions (ResNet-18 and 34).
	Basic BlockKind = iota
	// Bottleneck is 1x1 reduce, 3x3 (carrying the stride: v1.5), 1x1
	// expand by 4 (ResNet-50, 101 and 152).
	Bottleneck
)

// Expansion is the ratio of a block's output channels to its planes.
func (k BlockKind) Expansion() int {
	if k == Bottleneck {
		return 4
	}
	return 1
}

func (k BlockKind) String() string {
	if k == Bottleneck {
		return "Bottleneck"
	}
	return "BasicBlock"
}

// Arch is one row of the ResNet table: the block kind and how many blocks
// each of the four stages (layer1..layer4) has.
type Arch struct {
	Name   string
	Block  BlockKind
	Blocks [4]int
}

var archs = []Arch{
	{"resnet18", Basic, [4]int{2, 2, 2, 2}},
	{"resnet34", Basic, [4]int{3, 4, 6, 3}},
	{"resnet50", Bottleneck, [4]int{3, 4, 6, 3}},
	{"resnet101", Bottleneck, [4]int{3, 4, 23, 3}},
	{"resnet152", Bottleneck, [4]int{3, 8, 36, 3}},
}

// ArchNames lists the architectures this package builds.
func ArchNames() []string {
	var s []string
	for _, a := range archs {
		s = append(s, a.Name)
	}
	return s
}

// LookupArch finds an architecture by name ("resnet50", also "ResNet-50").
func LookupArch(name string) (Arch, error) {
	key := strings.ToLower(strings.ReplaceAll(name, "-", ""))
	for _, a := range archs {
		if a.Name == key {
			return a, nil
		}
	}
	return Arch{}, fmt.Errorf("unknown architecture %q (have %s)", name, strings.Join(ArchNames(), ", "))
}

// Head is the classifier on top of the last stage.
type Head int

const (
	// HeadStandard is torchvision's: global average pool, then fc.
	HeadStandard Head = iota
	// HeadNotebook is the Keras notebook's: AveragePooling2D((2,2),
	// padding='same'), Dropout, Flatten, Dense. Its fc input depends on
	// the input size, which the Config must then fix.
	HeadNotebook
)

func (h Head) String() string {
	if h == HeadNotebook {
		return "notebook"
	}
	return "standard"
}

// ParseHead accepts "standard" and "notebook".
func ParseHead(s string) (Head, error) {
	switch s {
	case "standard", "":
		return HeadStandard, nil
	case "notebook":
		return HeadNotebook, nil
	}
	return 0, fmt.Errorf("unknown head %q (have standard, notebook)", s)
}

// Config says which network to build.
type Config struct {
	Arch    string // "resnet18" ... "resnet152"
	Classes int    // output classes; 1000 for ImageNet weights
	// WidthDiv divides every channel count (64 stem channels become
	// 64/WidthDiv); 1 is the real network, larger values make small test
	// models. It must divide 64.
	WidthDiv int
	Head     Head
	// Dropout is the notebook head's dropout rate (Keras notebook: 0.5).
	Dropout float32
	// InputSize is the square input size the notebook head is built for
	// (its fc input is C x ceil(S/64) x ceil(S/64)); ignored by the
	// standard head, which takes any multiple of 32.
	InputSize int
	// Seed makes initialisation and dropout reproducible.
	Seed uint64
}

// DefaultConfig is ResNet-50 for ImageNet's 1000 classes.
func DefaultConfig() Config {
	return Config{Arch: "resnet50", Classes: 1000, WidthDiv: 1, Head: HeadStandard, Dropout: 0.5, InputSize: 224, Seed: 1}
}

// Validate checks the config and fills in zero values with defaults.
func (c *Config) Validate() (Arch, error) {
	a, err := LookupArch(c.Arch)
	if err != nil {
		return a, err
	}
	c.Arch = a.Name
	if c.Classes <= 0 {
		return a, fmt.Errorf("config: classes must be positive, got %d", c.Classes)
	}
	if c.WidthDiv == 0 {
		c.WidthDiv = 1
	}
	if c.WidthDiv < 0 || 64%c.WidthDiv != 0 {
		return a, fmt.Errorf("config: width divisor %d must divide 64", c.WidthDiv)
	}
	if !(c.Dropout >= 0 && c.Dropout < 1) { // NaN too (a file's metadata may say "NaN")
		return a, fmt.Errorf("config: dropout %v must be in [0, 1)", c.Dropout)
	}
	if c.Head == HeadNotebook {
		if err := CheckInputSize(c.InputSize, c.InputSize); err != nil {
			return a, fmt.Errorf("config: notebook head: %w", err)
		}
	}
	return a, nil
}

// CheckInputSize enforces what the network supports: height and width that
// are multiples of 32 (the total stride), from 32 up.
func CheckInputSize(h, w int) error {
	if h < 32 || w < 32 || h%32 != 0 || w%32 != 0 {
		return fmt.Errorf("input size %dx%d: height and width must be multiples of 32, at least 32", h, w)
	}
	return nil
}

// sortedKeys is a helper for stable error messages.
func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}
