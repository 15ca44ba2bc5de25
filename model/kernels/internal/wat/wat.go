// Package wat assembles the subset of the WebAssembly text format that the
// hand-written kernels in model/kernels/wasm use into a binary module, so
// that the WAT source is the only artifact: it is embedded in the Go
// program and assembled when the program starts (a few hundred
// microseconds), with no generated .wasm file to build, commit or serve.
//
// The subset: a module of memory imports, globals, functions and exports;
// in a function, params, results and locals (named or not) and
// instructions in plain or folded form, with block, loop and if/then/else,
// br, br_if, return, drop, local and global access, i32 arithmetic and
// comparisons, i32/f32 load and store, f32.const, and the SIMD instructions v128.load,
// v128.store, v128.load32_splat, v128.const, i8x16.shuffle, f32x4.splat,
// f32x4.add/sub/mul. Anything else is an error, not a guess.
package wat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Assemble translates src into a binary WebAssembly module.
func Assemble(src string) ([]byte, error) {
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	root, err := p.node()
	if err != nil {
		return nil, err
	}
	if p.i != len(toks) {
		return nil, fmt.Errorf("wat: line %d: text after the module", toks[p.i].line)
	}
	return assembleModule(root)
}

// --- tokens and s-expressions ---

type token struct {
	s    string // "(", ")", an atom, or a string literal with its quotes
	line int
}

func tokenize(src string) ([]token, error) {
	var toks []token
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case strings.HasPrefix(src[i:], ";;"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(src[i:], "(;"):
			end := strings.Index(src[i:], ";)")
			if end < 0 {
				return nil, fmt.Errorf("wat: line %d: unterminated block comment", line)
			}
			line += strings.Count(src[i:i+end], "\n")
			i += end + 2
		case c == '(' || c == ')':
			toks = append(toks, token{string(c), line})
			i++
		case c == '"':
			j := i + 1
			for j < len(src) && src[j] != '"' {
				if src[j] == '\\' || src[j] == '\n' {
					return nil, fmt.Errorf("wat: line %d: escapes and newlines in strings are not supported", line)
				}
				j++
			}
			if j == len(src) {
				return nil, fmt.Errorf("wat: line %d: unterminated string", line)
			}
			toks = append(toks, token{src[i : j+1], line})
			i = j + 1
		default:
			j := i
			for j < len(src) && !strings.ContainsRune(" \t\r\n()\";", rune(src[j])) {
				j++
			}
			toks = append(toks, token{src[i:j], line})
			i = j
		}
	}
	return toks, nil
}

// node is an atom (list == nil) or a parenthesised list.
type node struct {
	atom   string
	list   []*node
	isList bool
	line   int
}

func (n *node) head() string {
	if n.isList && len(n.list) > 0 && !n.list[0].isList {
		return n.list[0].atom
	}
	return ""
}

func (n *node) String() string {
	if !n.isList {
		return n.atom
	}
	return "(" + n.head() + " ...)"
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) node() (*node, error) {
	if p.i >= len(p.toks) {
		return nil, errors.New("wat: unexpected end of text")
	}
	t := p.toks[p.i]
	p.i++
	switch t.s {
	case ")":
		return nil, fmt.Errorf("wat: line %d: unexpected )", t.line)
	case "(":
		n := &node{isList: true, line: t.line}
		for {
			if p.i >= len(p.toks) {
				return nil, fmt.Errorf("wat: line %d: unclosed (", t.line)
			}
			if p.toks[p.i].s == ")" {
				p.i++
				return n, nil
			}
			c, err := p.node()
			if err != nil {
				return nil, err
			}
			n.list = append(n.list, c)
		}
	}
	return &node{atom: t.s, line: t.line}, nil
}

// --- the module ---

const (
	tI32  = 0x7f
	tV128 = 0x7b
)

var valTypes = map[string]byte{"i32": tI32, "v128": tV128}

type funcType struct{ params, results []byte }

func (t funcType) key() string { return string(t.params) + "/" + string(t.results) }

type function struct {
	name    string
	typ     funcType
	locals  []byte            // types of the locals after the params
	names   map[string]uint32 // local (and param) names
	body    []*node
	exports []string
	line    int
}

type global struct {
	name string
	typ  byte
	mut  bool
	init int32
}

type module struct {
	memImport       *[3]string // module, name, and the min pages
	globals         []global
	funcs           []*function
	exports         [][2]string // name, function id
	funcIdx, globIx map[string]uint32
}

func assembleModule(root *node) ([]byte, error) {
	if root.head() != "module" {
		return nil, fmt.Errorf("wat: line %d: expected (module ...)", root.line)
	}
	m := &module{funcIdx: map[string]uint32{}, globIx: map[string]uint32{}}
	for _, f := range root.list[1:] {
		var err error
		switch f.head() {
		case "import":
			err = m.importField(f)
		case "global":
			err = m.globalField(f)
		case "func":
			err = m.funcField(f)
		case "export":
			err = m.exportField(f)
		default:
			err = fmt.Errorf("wat: line %d: unsupported module field %v", f.line, f)
		}
		if err != nil {
			return nil, err
		}
	}
	return m.encode()
}

func isID(n *node) bool { return !n.isList && strings.HasPrefix(n.atom, "$") }

func str(n *node) (string, bool) {
	if n.isList || len(n.atom) < 2 || n.atom[0] != '"' {
		return "", false
	}
	return n.atom[1 : len(n.atom)-1], true
}

func (m *module) importField(f *node) error {
	if len(f.list) != 4 {
		return fmt.Errorf("wat: line %d: expected (import \"module\" \"name\" (memory min))", f.line)
	}
	mod, ok1 := str(f.list[1])
	name, ok2 := str(f.list[2])
	d := f.list[3]
	if !ok1 || !ok2 || d.head() != "memory" || m.memImport != nil {
		return fmt.Errorf("wat: line %d: only one memory import is supported", f.line)
	}
	args := d.list[1:]
	if len(args) > 0 && isID(args[0]) {
		args = args[1:]
	}
	if len(args) != 1 || args[0].isList {
		return fmt.Errorf("wat: line %d: expected (memory min) with no maximum", f.line)
	}
	m.memImport = &[3]string{mod, name, args[0].atom}
	return nil
}

func (m *module) globalField(f *node) error {
	args := f.list[1:]
	g := global{}
	if len(args) > 0 && isID(args[0]) {
		g.name = args[0].atom
		args = args[1:]
	}
	if len(args) != 2 {
		return fmt.Errorf("wat: line %d: expected (global $id type (i32.const n))", f.line)
	}
	t := args[0]
	if t.head() == "mut" && len(t.list) == 2 {
		g.mut = true
		t = t.list[1]
	}
	if t.isList || valTypes[t.atom] != tI32 {
		return fmt.Errorf("wat: line %d: only i32 globals are supported", f.line)
	}
	g.typ = tI32
	in := args[1]
	if in.head() != "i32.const" || len(in.list) != 2 {
		return fmt.Errorf("wat: line %d: a global's initial value must be (i32.const n)", f.line)
	}
	v, err := parseI32(in.list[1])
	if err != nil {
		return err
	}
	g.init = v
	if g.name != "" {
		m.globIx[g.name] = uint32(len(m.globals))
	}
	m.globals = append(m.globals, g)
	return nil
}

func (m *module) exportField(f *node) error {
	if len(f.list) != 3 || f.list[2].head() != "func" || len(f.list[2].list) != 2 {
		return fmt.Errorf("wat: line %d: expected (export \"name\" (func $id))", f.line)
	}
	name, ok := str(f.list[1])
	if !ok {
		return fmt.Errorf("wat: line %d: export name must be a string", f.line)
	}
	m.exports = append(m.exports, [2]string{name, f.list[2].list[1].atom})
	return nil
}

func (m *module) funcField(f *node) error {
	fn := &function{names: map[string]uint32{}, line: f.line}
	rest := f.list[1:]
	if len(rest) > 0 && isID(rest[0]) {
		fn.name = rest[0].atom
		rest = rest[1:]
	}
	nlocals := uint32(0)
	decl := func(n *node, kind string) error {
		items := n.list[1:]
		if len(items) == 2 && isID(items[0]) {
			t, ok := valTypes[items[1].atom]
			if !ok || items[1].isList {
				return fmt.Errorf("wat: line %d: bad %s type %v", n.line, kind, items[1])
			}
			if _, dup := fn.names[items[0].atom]; dup {
				return fmt.Errorf("wat: line %d: %s redeclared", n.line, items[0].atom)
			}
			fn.names[items[0].atom] = nlocals
			nlocals++
			if kind == "param" {
				fn.typ.params = append(fn.typ.params, t)
			} else {
				fn.locals = append(fn.locals, t)
			}
			return nil
		}
		for _, it := range items {
			t, ok := valTypes[it.atom]
			if !ok || it.isList {
				return fmt.Errorf("wat: line %d: bad %s type %v", n.line, kind, it)
			}
			nlocals++
			if kind == "param" {
				fn.typ.params = append(fn.typ.params, t)
			} else {
				fn.locals = append(fn.locals, t)
			}
		}
		return nil
	}
	for len(rest) > 0 && rest[0].isList {
		n := rest[0]
		switch n.head() {
		case "export":
			name, ok := str(n.list[len(n.list)-1])
			if len(n.list) != 2 || !ok {
				return fmt.Errorf("wat: line %d: expected (export \"name\")", n.line)
			}
			fn.exports = append(fn.exports, name)
		case "param":
			if len(fn.locals) > 0 || len(fn.typ.results) > 0 {
				return fmt.Errorf("wat: line %d: param after result or local", n.line)
			}
			if err := decl(n, "param"); err != nil {
				return err
			}
		case "result":
			if len(fn.locals) > 0 {
				return fmt.Errorf("wat: line %d: result after local", n.line)
			}
			for _, it := range n.list[1:] {
				t, ok := valTypes[it.atom]
				if !ok {
					return fmt.Errorf("wat: line %d: bad result type %v", n.line, it)
				}
				fn.typ.results = append(fn.typ.results, t)
			}
		case "local":
			if err := decl(n, "local"); err != nil {
				return err
			}
		default:
			goto body
		}
		rest = rest[1:]
	}
body:
	fn.body = rest
	idx := uint32(len(m.funcs))
	if fn.name != "" {
		if _, dup := m.funcIdx[fn.name]; dup {
			return fmt.Errorf("wat: line %d: function %s redeclared", f.line, fn.name)
		}
		m.funcIdx[fn.name] = idx
	}
	for _, e := range fn.exports {
		m.exports = append(m.exports, [2]string{e, strconv.Itoa(int(idx))})
	}
	m.funcs = append(m.funcs, fn)
	return nil
}

// --- binary encoding ---

func uleb(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func sleb(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func name(b []byte, s string) []byte { return append(uleb(b, uint64(len(s))), s...) }

func section(out []byte, id byte, body []byte) []byte {
	out = append(out, id)
	out = uleb(out, uint64(len(body)))
	return append(out, body...)
}

func (m *module) encode() ([]byte, error) {
	out := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}

	var types []funcType
	typeIdx := map[string]uint32{}
	for _, f := range m.funcs {
		if _, ok := typeIdx[f.typ.key()]; !ok {
			typeIdx[f.typ.key()] = uint32(len(types))
			types = append(types, f.typ)
		}
	}
	if len(types) > 0 {
		b := uleb(nil, uint64(len(types)))
		for _, t := range types {
			b = append(b, 0x60)
			b = uleb(b, uint64(len(t.params)))
			b = append(b, t.params...)
			b = uleb(b, uint64(len(t.results)))
			b = append(b, t.results...)
		}
		out = section(out, 1, b)
	}
	if mi := m.memImport; mi != nil {
		min, err := strconv.ParseUint(mi[2], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("wat: bad memory size %q", mi[2])
		}
		b := uleb(nil, 1)
		b = name(b, mi[0])
		b = name(b, mi[1])
		b = append(b, 0x02, 0x00) // memory, limits without a maximum
		b = uleb(b, min)
		out = section(out, 2, b)
	}
	if len(m.funcs) > 0 {
		b := uleb(nil, uint64(len(m.funcs)))
		for _, f := range m.funcs {
			b = uleb(b, uint64(typeIdx[f.typ.key()]))
		}
		out = section(out, 3, b)
	}
	if len(m.globals) > 0 {
		b := uleb(nil, uint64(len(m.globals)))
		for _, g := range m.globals {
			mut := byte(0)
			if g.mut {
				mut = 1
			}
			b = append(b, g.typ, mut, 0x41)
			b = sleb(b, int64(g.init))
			b = append(b, 0x0b)
		}
		out = section(out, 6, b)
	}
	if len(m.exports) > 0 {
		b := uleb(nil, uint64(len(m.exports)))
		for _, e := range m.exports {
			idx, err := m.funcRef(e[1])
			if err != nil {
				return nil, err
			}
			b = name(b, e[0])
			b = append(b, 0x00)
			b = uleb(b, uint64(idx))
		}
		out = section(out, 7, b)
	}
	if len(m.funcs) > 0 {
		b := uleb(nil, uint64(len(m.funcs)))
		for _, f := range m.funcs {
			code, err := m.encodeFunc(f)
			if err != nil {
				return nil, err
			}
			b = uleb(b, uint64(len(code)))
			b = append(b, code...)
		}
		out = section(out, 10, b)
	}
	// A name section, so that profiles and V8's code dumps name the
	// functions.
	var fnames []byte
	count := 0
	for i, f := range m.funcs {
		if f.name != "" {
			fnames = uleb(fnames, uint64(i))
			fnames = name(fnames, strings.TrimPrefix(f.name, "$"))
			count++
		}
	}
	if count > 0 {
		sub := uleb(nil, uint64(count))
		sub = append(sub, fnames...)
		b := name(nil, "name")
		b = append(b, 1)
		b = uleb(b, uint64(len(sub)))
		b = append(b, sub...)
		out = section(out, 0, b)
	}
	return out, nil
}

func (m *module) funcRef(s string) (uint32, error) {
	if i, ok := m.funcIdx[s]; ok {
		return i, nil
	}
	if i, err := strconv.ParseUint(s, 10, 32); err == nil && int(i) < len(m.funcs) {
		return uint32(i), nil
	}
	return 0, fmt.Errorf("wat: unknown function %s", s)
}

type funcEnc struct {
	m      *module
	f      *function
	b      []byte
	labels []string // innermost last
}

func (m *module) encodeFunc(f *function) ([]byte, error) {
	e := &funcEnc{m: m, f: f}
	// Locals, run-length encoded by type.
	var groups [][2]uint64
	for _, t := range f.locals {
		if n := len(groups); n > 0 && groups[n-1][1] == uint64(t) {
			groups[n-1][0]++
			continue
		}
		groups = append(groups, [2]uint64{1, uint64(t)})
	}
	e.b = uleb(e.b, uint64(len(groups)))
	for _, g := range groups {
		e.b = uleb(e.b, g[0])
		e.b = append(e.b, byte(g[1]))
	}
	if err := e.instrs(f.body); err != nil {
		return nil, err
	}
	if len(e.labels) != 0 {
		return nil, fmt.Errorf("wat: function %s: unclosed block", f.name)
	}
	e.b = append(e.b, 0x0b)
	return e.b, nil
}

// Opcodes without immediates.
var simpleOps = map[string][]byte{
	"unreachable": {0x00}, "nop": {0x01}, "return": {0x0f}, "drop": {0x1a},
	"i32.eqz": {0x45}, "i32.eq": {0x46}, "i32.ne": {0x47},
	"i32.lt_s": {0x48}, "i32.lt_u": {0x49}, "i32.gt_s": {0x4a}, "i32.gt_u": {0x4b},
	"i32.le_s": {0x4c}, "i32.le_u": {0x4d}, "i32.ge_s": {0x4e}, "i32.ge_u": {0x4f},
	"i32.add": {0x6a}, "i32.sub": {0x6b}, "i32.mul": {0x6c},
	"i32.div_s": {0x6d}, "i32.div_u": {0x6e}, "i32.rem_s": {0x6f}, "i32.rem_u": {0x70},
	"i32.and": {0x71}, "i32.or": {0x72}, "i32.xor": {0x73},
	"i32.shl": {0x74}, "i32.shr_s": {0x75}, "i32.shr_u": {0x76},
	"f32x4.splat": {0xfd, 0x13},
	"f32x4.add":   {0xfd, 0xe4, 0x01}, "f32x4.sub": {0xfd, 0xe5, 0x01}, "f32x4.mul": {0xfd, 0xe6, 0x01},
}

// Memory instructions: opcode bytes and the natural alignment (log2).
var memOps = map[string]struct {
	op    []byte
	align uint64
}{
	"i32.load":          {[]byte{0x28}, 2},
	"i32.store":         {[]byte{0x36}, 2},
	"f32.load":          {[]byte{0x2a}, 2},
	"f32.store":         {[]byte{0x38}, 2},
	"v128.load":         {[]byte{0xfd, 0x00}, 4},
	"v128.store":        {[]byte{0xfd, 0x0b}, 4},
	"v128.load32_splat": {[]byte{0xfd, 0x09}, 2},
}

func (e *funcEnc) errf(n *node, format string, args ...any) error {
	return fmt.Errorf("wat: line %d: "+format, append([]any{n.line}, args...)...)
}

// instrs encodes a sequence of instructions: folded lists, or plain
// instructions whose immediates are the atoms that follow them.
func (e *funcEnc) instrs(ns []*node) error {
	for i := 0; i < len(ns); {
		n := ns[i]
		if n.isList {
			if err := e.folded(n); err != nil {
				return err
			}
			i++
			continue
		}
		used, err := e.plain(n, ns[i+1:])
		if err != nil {
			return err
		}
		i += 1 + used
	}
	return nil
}

// folded encodes (op immediates... operands...): the operands first.
func (e *funcEnc) folded(n *node) error {
	op := n.head()
	args := n.list[1:]
	switch op {
	case "block", "loop":
		label, rest, bt, err := e.blockHeader(n, args)
		if err != nil {
			return err
		}
		if op == "block" {
			e.b = append(e.b, 0x02, bt)
		} else {
			e.b = append(e.b, 0x03, bt)
		}
		e.labels = append(e.labels, label)
		if err := e.instrs(rest); err != nil {
			return err
		}
		e.labels = e.labels[:len(e.labels)-1]
		e.b = append(e.b, 0x0b)
		return nil
	case "if":
		label, rest, bt, err := e.blockHeader(n, args)
		if err != nil {
			return err
		}
		// (if label? (result t)? cond* (then ...) (else ...)?)
		var then, els *node
		var cond []*node
		for _, r := range rest {
			switch r.head() {
			case "then":
				then = r
			case "else":
				els = r
			default:
				if then != nil {
					return e.errf(r, "unexpected %v after (then)", r)
				}
				cond = append(cond, r)
			}
		}
		if then == nil {
			return e.errf(n, "if without (then ...)")
		}
		if err := e.instrs(cond); err != nil {
			return err
		}
		e.b = append(e.b, 0x04, bt)
		e.labels = append(e.labels, label)
		if err := e.instrs(then.list[1:]); err != nil {
			return err
		}
		if els != nil {
			e.b = append(e.b, 0x05)
			if err := e.instrs(els.list[1:]); err != nil {
				return err
			}
		}
		e.labels = e.labels[:len(e.labels)-1]
		e.b = append(e.b, 0x0b)
		return nil
	}
	// Immediates are the leading atoms; the rest are folded operands.
	k := 0
	for k < len(args) && !args[k].isList {
		k++
	}
	if err := e.instrs(args[k:]); err != nil {
		return err
	}
	used, err := e.plain(n.list[0], args[:k])
	if err != nil {
		return err
	}
	if used != k {
		return e.errf(n, "%s: unexpected immediate %v", op, args[used])
	}
	return nil
}

func (e *funcEnc) blockHeader(n *node, args []*node) (label string, rest []*node, bt byte, err error) {
	bt = 0x40
	if len(args) > 0 && isID(args[0]) {
		label = args[0].atom
		args = args[1:]
	}
	if len(args) > 0 && args[0].head() == "result" {
		r := args[0].list
		if len(r) != 2 || valTypes[r[1].atom] == 0 {
			return "", nil, 0, e.errf(n, "bad block result")
		}
		bt = valTypes[r[1].atom]
		args = args[1:]
	}
	return label, args, bt, nil
}

// plain encodes one instruction whose immediates are taken from the
// start of imm; it returns how many atoms it used. Plain block/loop/end
// manage the label stack.
func (e *funcEnc) plain(n *node, imm []*node) (int, error) {
	op := n.atom
	if b, ok := simpleOps[op]; ok {
		e.b = append(e.b, b...)
		return 0, nil
	}
	if mo, ok := memOps[op]; ok {
		if e.m.memImport == nil {
			return 0, e.errf(n, "%s without a memory", op)
		}
		var offset uint64
		align := mo.align
		used := 0
		for ; used < len(imm) && !imm[used].isList; used++ {
			a := imm[used].atom
			var err error
			switch {
			case strings.HasPrefix(a, "offset="):
				offset, err = strconv.ParseUint(a[len("offset="):], 0, 32)
			case strings.HasPrefix(a, "align="):
				var v uint64
				v, err = strconv.ParseUint(a[len("align="):], 0, 32)
				if err == nil && (v == 0 || v&(v-1) != 0) {
					err = errors.New("not a power of 2")
				}
				align = uint64(0)
				for ; v > 1; v >>= 1 {
					align++
				}
			default:
				goto done
			}
			if err != nil {
				return 0, e.errf(n, "%s: bad %s: %v", op, a, err)
			}
		}
	done:
		e.b = append(e.b, mo.op...)
		e.b = uleb(e.b, align)
		e.b = uleb(e.b, offset)
		return used, nil
	}
	need := func(k int) error {
		if len(imm) < k {
			return e.errf(n, "%s needs %d immediates", op, k)
		}
		for _, x := range imm[:k] {
			if x.isList {
				return e.errf(n, "%s: immediate expected, found %v", op, x)
			}
		}
		return nil
	}
	switch op {
	case "local.get", "local.set", "local.tee":
		if err := need(1); err != nil {
			return 0, err
		}
		idx, err := e.index(imm[0], e.f.names, uint32(len(e.f.typ.params)+len(e.f.locals)))
		if err != nil {
			return 0, err
		}
		e.b = append(e.b, map[string]byte{"local.get": 0x20, "local.set": 0x21, "local.tee": 0x22}[op])
		e.b = uleb(e.b, uint64(idx))
		return 1, nil
	case "global.get", "global.set":
		if err := need(1); err != nil {
			return 0, err
		}
		idx, err := e.index(imm[0], e.m.globIx, uint32(len(e.m.globals)))
		if err != nil {
			return 0, err
		}
		e.b = append(e.b, map[string]byte{"global.get": 0x23, "global.set": 0x24}[op])
		e.b = uleb(e.b, uint64(idx))
		return 1, nil
	case "br", "br_if":
		if err := need(1); err != nil {
			return 0, err
		}
		depth, err := e.label(imm[0])
		if err != nil {
			return 0, err
		}
		e.b = append(e.b, map[string]byte{"br": 0x0c, "br_if": 0x0d}[op])
		e.b = uleb(e.b, uint64(depth))
		return 1, nil
	case "i32.const":
		if err := need(1); err != nil {
			return 0, err
		}
		v, err := parseI32(imm[0])
		if err != nil {
			return 0, err
		}
		e.b = append(e.b, 0x41)
		e.b = sleb(e.b, int64(v))
		return 1, nil
	case "f32.const":
		if err := need(1); err != nil {
			return 0, err
		}
		f, err := strconv.ParseFloat(imm[0].atom, 32)
		if err != nil {
			return 0, e.errf(imm[0], "bad f32 %q", imm[0].atom)
		}
		e.b = append(e.b, 0x43)
		e.b = binary.LittleEndian.AppendUint32(e.b, math.Float32bits(float32(f)))
		return 1, nil
	case "v128.const":
		if err := need(5); err != nil {
			return 0, err
		}
		e.b = append(e.b, 0xfd, 0x0c)
		for _, x := range imm[1:5] {
			var bits uint32
			switch imm[0].atom {
			case "i32x4":
				v, err := parseI32(x)
				if err != nil {
					return 0, err
				}
				bits = uint32(v)
			case "f32x4":
				f, err := strconv.ParseFloat(x.atom, 32)
				if err != nil {
					return 0, e.errf(x, "bad f32 %q", x.atom)
				}
				bits = math.Float32bits(float32(f))
			default:
				return 0, e.errf(x, "v128.const shape %q not supported (i32x4, f32x4)", imm[0].atom)
			}
			e.b = binary.LittleEndian.AppendUint32(e.b, bits)
		}
		return 5, nil
	case "i8x16.shuffle":
		if err := need(16); err != nil {
			return 0, err
		}
		e.b = append(e.b, 0xfd, 0x0d)
		for _, x := range imm[:16] {
			v, err := strconv.ParseUint(x.atom, 10, 8)
			if err != nil || v >= 32 {
				return 0, e.errf(x, "bad shuffle lane %q", x.atom)
			}
			e.b = append(e.b, byte(v))
		}
		return 16, nil
	case "block", "loop":
		label := ""
		used := 0
		if len(imm) > 0 && isID(imm[0]) {
			label = imm[0].atom
			used = 1
		}
		e.b = append(e.b, map[string]byte{"block": 0x02, "loop": 0x03}[op], 0x40)
		e.labels = append(e.labels, label)
		return used, nil
	case "end":
		if len(e.labels) == 0 {
			return 0, e.errf(n, "end without block")
		}
		e.labels = e.labels[:len(e.labels)-1]
		e.b = append(e.b, 0x0b)
		return 0, nil
	}
	return 0, e.errf(n, "unsupported instruction %q", op)
}

func (e *funcEnc) index(n *node, names map[string]uint32, count uint32) (uint32, error) {
	if isID(n) {
		i, ok := names[n.atom]
		if !ok {
			return 0, e.errf(n, "unknown name %s", n.atom)
		}
		return i, nil
	}
	v, err := strconv.ParseUint(n.atom, 10, 32)
	if err != nil || uint32(v) >= count {
		return 0, e.errf(n, "bad index %q", n.atom)
	}
	return uint32(v), nil
}

func (e *funcEnc) label(n *node) (uint32, error) {
	if isID(n) {
		for d := len(e.labels) - 1; d >= 0; d-- {
			if e.labels[d] == n.atom {
				return uint32(len(e.labels) - 1 - d), nil
			}
		}
		return 0, e.errf(n, "unknown label %s", n.atom)
	}
	v, err := strconv.ParseUint(n.atom, 10, 32)
	if err != nil || int(v) >= len(e.labels) {
		return 0, e.errf(n, "bad label depth %q", n.atom)
	}
	return uint32(v), nil
}

func parseI32(n *node) (int32, error) {
	if n.isList {
		return 0, fmt.Errorf("wat: line %d: integer expected", n.line)
	}
	s := strings.ReplaceAll(n.atom, "_", "")
	if v, err := strconv.ParseInt(s, 0, 32); err == nil {
		return int32(v), nil
	}
	if v, err := strconv.ParseUint(s, 0, 32); err == nil {
		return int32(uint32(v)), nil
	}
	return 0, fmt.Errorf("wat: line %d: bad i32 %q", n.line, n.atom)
}
