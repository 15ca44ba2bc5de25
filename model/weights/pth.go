package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/big"
	"os"
	"path"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"
)

// A PyTorch file is read from memory (the browser has no file system), with
// github.com/nlpodyssey/gopickle's unpickler and tensor rebuilding, and this
// file's own storage reading: it checks every storage's size against the
// file before allocating, and keeps the raw little-endian bytes so that a
// tensor is converted only when it is asked for.

// OpenPth reads a PyTorch file as torch.save writes it: the zip format
// (PyTorch 1.6 and later, and torchvision's current weights) or the legacy
// format before it (older torchvision weights). See ParsePth.
func OpenPth(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParsePth(data, path)
}

// ParsePth parses a PyTorch file from memory (and keeps references into
// data, which must not change afterwards); name is used in errors. The
// file must hold a state_dict (a dict of tensors by name), or a dict that
// holds one under "state_dict", "model" or "model_state_dict" (a training
// checkpoint); a "module." prefix on every name (nn.DataParallel) is
// removed. Tensors that are not float32 or not contiguous are listed, and
// reading them is an error that names them. A truncated or corrupt file is
// an error, never a panic. TorchScript archives are refused.
func ParsePth(data []byte, name string) (f *File, err error) {
	defer func() {
		// The unpickler trusts its input more than a file from the web
		// deserves: turn any panic on corrupt data into an error.
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("%s: corrupt PyTorch file: %v", name, r)
		}
	}()
	var obj any
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		obj, err = loadPthZip(data)
	case len(data) >= 2 && data[0] == 0x80 && data[1] <= 5: // a pickle's PROTO opcode
		obj, err = loadPthLegacy(data)
	default:
		return nil, fmt.Errorf("%s: not a PyTorch file (neither a zip nor a pickle)", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	sd, err := findStateDict(obj)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f = &File{Path: name, Metadata: map[string]string{}, pth: map[string]*pthTensor{}}
	strip := len(sd) > 0
	for _, e := range sd {
		strip = strip && strings.HasPrefix(e.name, "module.")
	}
	for _, e := range sd {
		n := e.name
		if strip {
			n = strings.TrimPrefix(n, "module.")
		}
		if _, dup := f.pth[n]; dup {
			return nil, fmt.Errorf("%s: tensor %q appears twice", name, n)
		}
		t, err := pthTensorOf(e.tensor)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", name, n, err)
		}
		f.pth[n] = t
	}
	return f, nil
}

// isPth reports whether data starts like a PyTorch file rather than a
// safetensors one (whose 8-byte header length is followed by '{').
func isPth(data []byte) bool {
	if len(data) > 8 && data[8] == '{' && binary.LittleEndian.Uint64(data) <= uint64(len(data)-8) {
		return false
	}
	return bytes.HasPrefix(data, []byte("PK\x03\x04")) || len(data) >= 2 && data[0] == 0x80 && data[1] <= 5
}

// pthTensor is one tensor of a PyTorch file: its dtype (named as in
// safetensors), shape and raw little-endian C-order bytes, or why its
// values cannot be read (it is then still listed, with its shape).
type pthTensor struct {
	dtype string
	shape []int
	raw   []byte
	err   error
}

// storageClass is what a torch.*Storage global unpickles to: the element
// type of the storages that name it.
type storageClass struct {
	dtype string
	size  int // bytes per element
}

var storageClasses = map[string]storageClass{
	"FloatStorage": {"F32", 4}, "DoubleStorage": {"F64", 8}, "HalfStorage": {"F16", 2},
	"BFloat16Storage": {"BF16", 2}, "LongStorage": {"I64", 8}, "IntStorage": {"I32", 4},
	"ShortStorage": {"I16", 2}, "CharStorage": {"I8", 1}, "ByteStorage": {"U8", 1},
	"BoolStorage": {"BOOL", 1},
}

// storage is one storage's raw bytes. It satisfies gopickle's
// StorageInterface, so that gopickle's tensor rebuilding takes it; its data
// is read here, not through those methods.
type storage struct {
	class storageClass
	numel int
	data  []byte
}

func (s *storage) SetFromFile(io.Reader) error { return errors.New("storage: not read this way") }
func (s *storage) SetFromFileWithSize(io.Reader, int) error {
	return errors.New("storage: not read this way")
}

var _ pytorch.StorageInterface = (*storage)(nil)

// findClass resolves the globals a torch.save pickle names: tensor
// rebuilding, storage types, and (as opaque objects) anything else a
// checkpoint may hold beside its tensors.
func findClass(module, name string) (any, error) {
	switch module + "." + name {
	case "torch._utils._rebuild_tensor_v2":
		return &pytorch.RebuildTensorV2{}, nil
	case "torch._utils._rebuild_tensor":
		return rebuildTensorV1{}, nil
	case "torch._utils._rebuild_parameter":
		return rebuildParameter{}, nil
	}
	if module == "torch" {
		if c, ok := storageClasses[name]; ok {
			return c, nil
		}
	}
	return &opaqueClass{module: module, name: name}, nil
}

// rebuildTensorV1 is torch._utils._rebuild_tensor(storage, offset, size,
// stride), which PyTorch before 0.4 pickled.
type rebuildTensorV1 struct{}

func (rebuildTensorV1) Call(args ...any) (any, error) {
	if len(args) != 4 {
		return nil, fmt.Errorf("_rebuild_tensor: %d arguments, want 4", len(args))
	}
	return (&pytorch.RebuildTensorV2{}).Call(append(args, false, nil)...)
}

// rebuildParameter is torch._utils._rebuild_parameter(data, requires_grad,
// backward_hooks): an nn.Parameter saved as itself; its data is the tensor.
type rebuildParameter struct{}

func (rebuildParameter) Call(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, errors.New("_rebuild_parameter: no arguments")
	}
	return args[0], nil
}

// opaqueClass stands for any other Python class or function: calling or
// instantiating it gives an opaqueObject, which takes any state. Tensors are
// all a state_dict needs; an optimizer's or a config's objects beside them
// must not make the file unreadable.
type opaqueClass struct{ module, name string }

type opaqueObject struct{ class *opaqueClass }

func (c *opaqueClass) Call(...any) (any, error)  { return &opaqueObject{c}, nil }
func (c *opaqueClass) PyNew(...any) (any, error) { return &opaqueObject{c}, nil }
func (o *opaqueObject) PySetState(any) error     { return nil }

// unpickler makes gopickle's unpickler with the torch globals and the given
// storage loader.
func unpickler(r io.Reader, load func(*types.Tuple) (any, error)) pickle.Unpickler {
	u := pickle.NewUnpickler(r)
	u.FindClass = findClass
	u.PersistentLoad = func(id any) (any, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() < 5 {
			return nil, fmt.Errorf("persistent id %v: want ('storage', type, key, location, size, ...)", id)
		}
		if s, _ := t.Get(0).(string); s != "storage" {
			return nil, fmt.Errorf("persistent id of kind %v: only storages are supported", t.Get(0))
		}
		return load(t)
	}
	return u
}

// storageID reads ('storage', class, key, location, numel, ...).
func storageID(t *types.Tuple) (storageClass, string, int, error) {
	class, ok1 := t.Get(1).(storageClass)
	key, ok2 := t.Get(2).(string)
	numel, ok3 := t.Get(4).(int)
	if !ok1 {
		return class, "", 0, fmt.Errorf("storage of unsupported type %v", t.Get(1))
	}
	if !ok2 || !ok3 || numel < 0 {
		return class, "", 0, fmt.Errorf("malformed storage id %v", t)
	}
	return class, key, numel, nil
}

// loadPthZip reads torch.save's zip format: <archive>/data.pkl is the
// pickle, <archive>/data/<key> each storage's raw bytes.
func loadPthZip(data []byte) (any, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("not a valid zip archive: %w", err)
	}
	records := map[string]*zip.File{}
	prefix := ""
	for _, f := range zr.File {
		records[f.Name] = f
		if path.Base(f.Name) == "data.pkl" && strings.Count(f.Name, "/") <= 1 {
			prefix = strings.TrimSuffix(f.Name, "data.pkl")
		}
	}
	if records[prefix+"constants.pkl"] != nil {
		return nil, errors.New("a TorchScript archive (torch.jit.save), not torch.save of a state_dict")
	}
	if records[prefix+"data.pkl"] == nil {
		return nil, errors.New("a zip archive without data.pkl: not written by torch.save")
	}
	// Compressed records (torch.save stores them uncompressed; a re-zipped
	// file may not) may expand to 16 times the file in all: deflate can
	// expand 1,032 times, and a small file must not make the reader
	// allocate a thousand times its size.
	budget := 16*int64(len(data)) + 1<<20
	readRecord := func(data []byte, f *zip.File, limit int64) ([]byte, error) {
		return readZipRecord(data, f, limit, &budget)
	}
	if bo := records[prefix+"byteorder"]; bo != nil {
		if b, err := readRecord(data, bo, 16); err == nil && string(b) != "little" {
			return nil, fmt.Errorf("byte order %q: only little-endian files are supported", b)
		}
	}
	pkl, err := readRecord(data, records[prefix+"data.pkl"], -1)
	if err != nil {
		return nil, err
	}
	if _, err := scanPickle(pkl); err != nil {
		return nil, fmt.Errorf("data.pkl: %w", err)
	}
	loaded := map[string]*storage{}
	u := unpickler(bytes.NewReader(pkl), func(t *types.Tuple) (any, error) {
		class, key, numel, err := storageID(t)
		if err != nil {
			return nil, err
		}
		if s := loaded[key]; s != nil {
			return s, nil
		}
		rec := records[prefix+"data/"+key]
		if rec == nil {
			return nil, fmt.Errorf("storage %q is missing from the archive", key)
		}
		want := int64(numel) * int64(class.size)
		if int64(rec.UncompressedSize64) < want {
			return nil, fmt.Errorf("storage %q holds %d bytes, too few for %d %s values", key, rec.UncompressedSize64, numel, class.dtype)
		}
		raw, err := readRecord(data, rec, -1)
		if err != nil {
			return nil, err
		}
		s := &storage{class: class, numel: numel, data: raw[:want]}
		loaded[key] = s
		return s, nil
	})
	return u.Load()
}

// readZipRecord reads a whole zip record and verifies its checksum,
// refusing one larger than limit (when limit >= 0). A stored
// (uncompressed) record, as torch.save writes them, is a slice of data,
// not a copy: a ResNet-50 file is 100 MB. A compressed record is
// decompressed only if its declared size fits in *budget, which it then
// takes from.
func readZipRecord(data []byte, f *zip.File, limit int64, budget *int64) ([]byte, error) {
	if limit >= 0 && int64(f.UncompressedSize64) > limit {
		return nil, fmt.Errorf("record %s: %d bytes, more than the %d expected", f.Name, f.UncompressedSize64, limit)
	}
	if f.Method == zip.Store && f.CompressedSize64 == f.UncompressedSize64 {
		off, err := f.DataOffset()
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", f.Name, err)
		}
		if off < 0 || f.UncompressedSize64 > uint64(len(data)) || uint64(off) > uint64(len(data))-f.UncompressedSize64 {
			return nil, fmt.Errorf("record %s: %w", f.Name, io.ErrUnexpectedEOF)
		}
		b := data[off : off+int64(f.UncompressedSize64) : off+int64(f.UncompressedSize64)]
		if crc32.ChecksumIEEE(b) != f.CRC32 {
			return nil, fmt.Errorf("record %s: %w", f.Name, zip.ErrChecksum)
		}
		return b, nil
	}
	if f.UncompressedSize64 > uint64(*budget) {
		return nil, fmt.Errorf("record %s: compressed, and %d bytes once decompressed: more than a %d-byte file may expand to (save it with torch.save, which does not compress)", f.Name, f.UncompressedSize64, len(data))
	}
	*budget -= int64(f.UncompressedSize64)
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", f.Name, err)
	}
	defer rc.Close()
	// The declared size bounds the allocation; a lying header fails the
	// read (or the checksum) instead of exhausting memory.
	b, err := io.ReadAll(io.LimitReader(rc, int64(min(f.UncompressedSize64, 1<<40))))
	if err == nil && uint64(len(b)) != f.UncompressedSize64 {
		err = io.ErrUnexpectedEOF
	}
	if err == nil {
		_, err = rc.Read(make([]byte, 1)) // reach EOF, where the checksum is checked
		if err == io.EOF {
			err = nil
		} else if err == nil {
			err = errors.New("longer than declared")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", f.Name, err)
	}
	return b, nil
}

// legacyMagic is the number that starts a legacy torch.save file.
const legacyMagic = "1950a86a20f9469cfc6c"

// loadPthLegacy reads the format torch.save wrote before PyTorch 1.6: four
// pickles (magic number, protocol version 1001, system info, the object),
// a pickled list of storage keys, then each storage as an 8-byte element
// count and its raw data, in the order of the keys.
func loadPthLegacy(data []byte) (any, error) {
	off := 0 // where the next pickle or storage starts
	// pickleAt scans the pickle at off and returns a reader of exactly it.
	pickleAt := func(what string) (io.Reader, error) {
		n, err := scanPickle(data[off:])
		if err != nil {
			return nil, fmt.Errorf("legacy format: %s: %w", what, err)
		}
		r := bytes.NewReader(data[off : off+n])
		off += n
		return r, nil
	}
	next := func(what string) (any, error) {
		r, err := pickleAt(what)
		if err != nil {
			return nil, err
		}
		u := pickle.NewUnpickler(r)
		v, err := u.Load()
		if err != nil {
			return nil, fmt.Errorf("legacy format: %s: %w", what, err)
		}
		return v, nil
	}
	magic, err := next("magic number")
	if err != nil {
		return nil, err
	}
	if m, ok := magic.(*big.Int); !ok || m.Text(16) != legacyMagic {
		return nil, errors.New("a pickle, but not one written by torch.save (no PyTorch magic number)")
	}
	if v, err := next("protocol version"); err != nil {
		return nil, err
	} else if v != 1001 {
		return nil, fmt.Errorf("legacy format: protocol version %v, want 1001", v)
	}
	info, err := next("system info")
	if err != nil {
		return nil, err
	}
	if d, ok := info.(*types.Dict); ok {
		if le, ok := d.Get("little_endian"); ok && le != true {
			return nil, errors.New("legacy format: written on a big-endian machine, which is not supported")
		}
	}
	storages := map[string]*storage{}
	r, err := pickleAt("object")
	if err != nil {
		return nil, err
	}
	u := unpickler(r, func(t *types.Tuple) (any, error) {
		class, key, numel, err := storageID(t)
		if err != nil {
			return nil, err
		}
		if t.Len() > 5 && t.Get(5) != nil {
			return nil, fmt.Errorf("storage %q is a view of another storage (PyTorch before 0.4), which is not supported", key)
		}
		s := storages[key]
		if s == nil {
			if int64(numel)*int64(class.size) > int64(len(data)) {
				return nil, fmt.Errorf("storage %q: %d %s values do not fit in a %d-byte file", key, numel, class.dtype, len(data))
			}
			s = &storage{class: class, numel: numel}
			storages[key] = s
		}
		return s, nil
	})
	obj, err := u.Load()
	if err != nil {
		return nil, fmt.Errorf("legacy format: %w", err)
	}
	keysObj, err := next("storage keys")
	if err != nil {
		return nil, err
	}
	keys, ok := keysObj.(*types.List)
	if !ok {
		return nil, fmt.Errorf("legacy format: storage keys are %T, want a list", keysObj)
	}
	for _, k := range *keys {
		key, _ := k.(string)
		s := storages[key]
		if s == nil {
			return nil, fmt.Errorf("legacy format: storage %v is listed but no tensor uses it", k)
		}
		if len(data)-off < 8 {
			return nil, fmt.Errorf("legacy format: storage %q: %w", key, io.ErrUnexpectedEOF)
		}
		if n := binary.LittleEndian.Uint64(data[off:]); n != uint64(s.numel) {
			return nil, fmt.Errorf("legacy format: storage %q holds %d values, the pickle says %d", key, n, s.numel)
		}
		off += 8
		size := s.numel * s.class.size
		if len(data)-off < size {
			return nil, fmt.Errorf("legacy format: storage %q: %w", key, io.ErrUnexpectedEOF)
		}
		s.data = data[off : off+size : off+size]
		off += size
	}
	for key, s := range storages {
		if s.data == nil && s.numel > 0 {
			return nil, fmt.Errorf("legacy format: storage %q has no data", key)
		}
	}
	return obj, nil
}

type namedTensor struct {
	name   string
	tensor *pytorch.Tensor
}

// maxNesting is how deep findStateDict looks for a state_dict inside
// dicts (a checkpoint's {"model": {"state_dict": ...}} is 2 deep). A pickle
// can make a dict that holds itself: without a limit the search would
// recurse until the stack overflowed, which kills the process.
const maxNesting = 8

// findStateDict finds the dict of tensors in what the file holds.
func findStateDict(obj any) ([]namedTensor, error) { return findStateDictIn(obj, 0) }

func findStateDictIn(obj any, depth int) ([]namedTensor, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("holds dicts nested more than %d deep without a state_dict (a dict inside itself?)", maxNesting)
	}
	entries, ok := dictEntries(obj)
	if !ok {
		return nil, fmt.Errorf("holds a %s, not a state_dict (a dict of tensors)", pyType(obj))
	}
	var sd []namedTensor
	for _, e := range entries {
		if t, ok := e[1].(*pytorch.Tensor); ok {
			name, ok := e[0].(string)
			if !ok {
				return nil, fmt.Errorf("a tensor under the key %v, which is not a string", e[0])
			}
			sd = append(sd, namedTensor{name, t})
		}
	}
	if len(sd) > 0 {
		return sd, nil
	}
	for _, key := range []string{"state_dict", "model", "model_state_dict"} {
		for _, e := range entries {
			if e[0] == key {
				if _, ok := dictEntries(e[1]); ok {
					return findStateDictIn(e[1], depth+1)
				}
			}
		}
	}
	var keys []string
	for _, e := range entries {
		keys = append(keys, fmt.Sprint(e[0]))
	}
	return nil, fmt.Errorf("holds a dict without tensors (keys: %s), and no state_dict inside it", strings.Join(keys, ", "))
}

// dictEntries lists a Python dict's or OrderedDict's (key, value) pairs in
// order.
func dictEntries(obj any) ([][2]any, bool) {
	var out [][2]any
	switch d := obj.(type) {
	case *types.OrderedDict:
		for e := d.List.Front(); e != nil; e = e.Next() {
			kv := e.Value.(*types.OrderedDictEntry)
			out = append(out, [2]any{kv.Key, kv.Value})
		}
	case *types.Dict:
		for _, kv := range *d {
			out = append(out, [2]any{kv.Key, kv.Value})
		}
	default:
		return nil, false
	}
	return out, true
}

func pyType(obj any) string {
	switch o := obj.(type) {
	case *pytorch.Tensor:
		return "single tensor"
	case *types.List:
		return "list"
	case *types.Tuple:
		return "tuple"
	case *opaqueObject:
		return fmt.Sprintf("%s.%s object (a whole pickled model? save its state_dict())", o.class.module, o.class.name)
	}
	return fmt.Sprintf("%T", obj)
}

// pthTensorOf checks a rebuilt tensor against its storage and keeps its
// bytes: a contiguous tensor is a slice of its storage; any other is listed
// with an error for whoever reads it.
func pthTensorOf(t *pytorch.Tensor) (*pthTensor, error) {
	s, ok := t.Source.(*storage)
	if !ok {
		return nil, fmt.Errorf("storage of type %T", t.Source)
	}
	if len(t.Stride) != len(t.Size) {
		return nil, fmt.Errorf("%d sizes but %d strides", len(t.Size), len(t.Stride))
	}
	numel := 1
	for _, d := range t.Size {
		if d < 0 || d > 0 && numel > s.numel/d+1 {
			return nil, fmt.Errorf("shape %v does not fit its storage of %d values", t.Size, s.numel)
		}
		numel *= d
	}
	pt := &pthTensor{dtype: s.class.dtype, shape: append([]int{}, t.Size...)}
	if numel == 0 {
		pt.raw = []byte{}
		return pt, nil
	}
	if !contiguous(t.Size, t.Stride) {
		pt.err = fmt.Errorf("is not contiguous (shape %v, strides %v): save it with .contiguous()", t.Size, t.Stride)
		return pt, nil
	}
	if t.StorageOffset < 0 || t.StorageOffset > s.numel || numel > s.numel-t.StorageOffset {
		return nil, fmt.Errorf("%d values at offset %d overrun its storage of %d", numel, t.StorageOffset, s.numel)
	}
	e := s.class.size
	pt.raw = s.data[t.StorageOffset*e : (t.StorageOffset+numel)*e]
	return pt, nil
}

// contiguous reports whether strides are C order's for the sizes (sizes of
// 1 may have any stride, as in PyTorch's is_contiguous).
func contiguous(size, stride []int) bool {
	want := 1
	for i := len(size) - 1; i >= 0; i-- {
		if size[i] != 1 && stride[i] != want {
			return false
		}
		want *= size[i]
	}
	return true
}
