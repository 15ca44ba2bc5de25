package data

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// SplitSpec is a split expression as tfds writes them: "train",
// "test[0%:10%]", "test[10%:]", "train[:1000]", "train[-500:]", and
// concatenations with '+' ("train[:50%]+test[:10%]").
type SplitSpec struct {
	Text  string
	Parts []SplitPart
}

// SplitPart is one source split and an optional slice of it.
type SplitPart struct {
	Split string
	// From and To bound the slice; nil means the start or the end.
	From, To *int
	// Percent: the bounds are percentages of the split's size (rounded to
	// the closest example, as tfds does), else example counts.
	Percent bool
}

// ParseSplitSpec parses one split expression.
func ParseSplitSpec(s string) (SplitSpec, error) {
	spec := SplitSpec{Text: s}
	if strings.TrimSpace(s) == "" {
		return spec, fmt.Errorf("split %q: empty", s)
	}
	for _, p := range strings.Split(s, "+") {
		part, err := parseSplitPart(strings.TrimSpace(p))
		if err != nil {
			return spec, fmt.Errorf("split %q: %v", s, err)
		}
		spec.Parts = append(spec.Parts, part)
	}
	return spec, nil
}

func parseSplitPart(p string) (SplitPart, error) {
	var part SplitPart
	name, slice, hasSlice := strings.Cut(p, "[")
	if !validSplitName(name) {
		return part, fmt.Errorf("%q: a split name is letters, digits and '_'", name)
	}
	part.Split = name
	if !hasSlice {
		return part, nil
	}
	if !strings.HasSuffix(slice, "]") {
		return part, fmt.Errorf("%q: missing ']'", p)
	}
	slice = slice[:len(slice)-1]
	from, to, ok := strings.Cut(slice, ":")
	if !ok {
		return part, fmt.Errorf("%q: a slice is [from:to] (either may be empty)", p)
	}
	var pct [2]bool
	for i, b := range []string{from, to} {
		b = strings.TrimSpace(b)
		if b == "" {
			continue
		}
		if strings.HasSuffix(b, "%") {
			pct[i] = true
			b = b[:len(b)-1]
		}
		v, err := strconv.Atoi(b)
		if err != nil || (b != "" && (b[0] == '+')) {
			return part, fmt.Errorf("%q: bound %q is not an integer (or a percentage)", p, b)
		}
		if pct[i] && (v < -100 || v > 100) {
			return part, fmt.Errorf("%q: percentage %d%% out of [-100%%, 100%%]", p, v)
		}
		if i == 0 {
			part.From = &v
		} else {
			part.To = &v
		}
	}
	if part.From != nil && part.To != nil && pct[0] != pct[1] {
		return part, fmt.Errorf("%q: both bounds must be percentages, or neither", p)
	}
	part.Percent = pct[0] || pct[1]
	return part, nil
}

func validSplitName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// Range returns the half-open range [from, to) of a split of n examples
// that the part selects. Percentages round to the closest example, ties to
// even (tfds' default "closest" rounding); negative bounds count from the
// end; bounds are clamped to [0, n].
func (p SplitPart) Range(n int) (from, to int) {
	abs := func(b *int, def int) int {
		if b == nil {
			return def
		}
		v := *b
		if p.Percent {
			v = int(math.RoundToEven(float64(v) * float64(n) / 100))
		}
		if v < 0 {
			v += n
		}
		return min(max(v, 0), n)
	}
	from, to = abs(p.From, 0), abs(p.To, n)
	if to < from {
		to = from
	}
	return from, to
}

// NamedSplit is an output split: a name and the expression that fills it.
type NamedSplit struct {
	Name string
	Spec SplitSpec
}

// ParseSplitList parses a comma-separated list of output splits, each
// "NAME=SPEC" or just "SPEC" (then named by the expression itself, as tfds
// names them: "train", "test[0%:10%]").
func ParseSplitList(s string) ([]NamedSplit, error) {
	var out []NamedSplit
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		name, expr, named := strings.Cut(item, "=")
		if !named {
			expr, name = item, item
		}
		name, expr = strings.TrimSpace(name), strings.TrimSpace(expr)
		if name == "" {
			return nil, fmt.Errorf("split %q: empty name", item)
		}
		spec, err := ParseSplitSpec(expr)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, fmt.Errorf("split %q is given twice", name)
		}
		seen[name] = true
		out = append(out, NamedSplit{Name: name, Spec: spec})
	}
	return out, nil
}
