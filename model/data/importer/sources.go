package importer

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"math"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/idx"
	"github.com/goresnet/goresnet/model/data/imageio"
	"github.com/goresnet/goresnet/model/data/matv5"
)

// item is one example to import.
type item struct {
	class int    // index into source.classes
	key   string // its path (or "train/00042" for MNIST): reports, ordering
	// fill decodes the example and writes it resized with padding to
	// size x size into dst.
	fill func(rz *imageio.Resizer, dst []byte, size int) error
}

// source is what a format's reader found: classes and, per source split,
// the examples, in a seeded but content-independent order (a hash of each
// key), so slices such as test[0%:10%] mix the classes as tfds' do.
type source struct {
	classes []data.Class
	splits  map[string][]item
	order   []string // split names in a stable order
	skipped []Skipped
	notes   []string
}

func (s *source) skip(file, format string, args ...any) {
	s.skipped = append(s.skipped, Skipped{File: file, Reason: fmt.Sprintf(format, args...)})
}

// keyHash orders examples: FNV-1a of the seed and the key.
func keyHash(seed uint64, key string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for i := range b {
		b[i] = byte(seed >> (8 * i))
	}
	h.Write(b[:])
	h.Write([]byte(key))
	return h.Sum64()
}

func sortByHash(seed uint64, items []item) {
	hs := make(map[string]uint64, len(items))
	for _, it := range items {
		hs[it.key] = keyHash(seed, it.key)
	}
	sort.SliceStable(items, func(i, j int) bool {
		a, b := hs[items[i].key], hs[items[j].key]
		if a != b {
			return a < b
		}
		return items[i].key < items[j].key
	})
}

// synsetFolder splits an ImageNet folder name "n02085620-Chihuahua" (n, 8
// digits, '-', a name) into synset and name. (Not a regexp: the browser's
// import links this package into worker.wasm, where regexp costs ~0.3 MB.)
func synsetFolder(folder string) (synset, name string, ok bool) {
	if len(folder) < 11 || folder[0] != 'n' || folder[9] != '-' {
		return "", "", false
	}
	for _, c := range folder[1:9] {
		if c < '0' || c > '9' {
			return "", "", false
		}
	}
	return folder[:9], folder[10:], true
}

// classFromFolder names a class after its folder; Stanford Dogs' (ImageNet)
// "n02085620-Chihuahua" becomes "Chihuahua" with its synset kept.
func classFromFolder(folder string) data.Class {
	if synset, name, ok := synsetFolder(folder); ok {
		return data.Class{Name: name, Folder: folder, Synset: synset}
	}
	return data.Class{Name: folder}
}

func hidden(name string) bool {
	return strings.HasPrefix(name, ".") || name == "Thumbs.db" || name == "desktop.ini"
}

// headLimit is how much of a file the first pass reads to check the image
// header (more only when the header is not within it).
const headLimit = 1 << 20

// checkFile reads an image file's head and checks its header (format,
// declared size). It returns "" when the file looks importable.
func checkFile(fsys fs.FS, name string, maxPixels int) string {
	f, err := fsys.Open(name)
	if err != nil {
		return "unreadable: " + errText(err)
	}
	defer f.Close()
	head, err := io.ReadAll(io.LimitReader(f, headLimit))
	if err != nil {
		return "unreadable: " + errText(err)
	}
	_, _, _, err = imageio.Config(head, maxPixels)
	if err != nil && len(head) == headLimit && (errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "EOF")) {
		full, rerr := fs.ReadFile(fsys, name)
		if rerr != nil {
			return "unreadable: " + errText(rerr)
		}
		_, _, _, err = imageio.Config(full, maxPixels)
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// errText drops the path that fs errors repeat.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func fileItem(fsys fs.FS, name string, class int, maxPixels int) item {
	return item{class: class, key: name, fill: func(rz *imageio.Resizer, dst []byte, size int) error {
		if st, err := fs.Stat(fsys, name); err == nil && st.Size() > imageio.MaxFileBytes(maxPixels) {
			return fmt.Errorf("%d bytes, more than an image of at most %.1f megapixels takes", st.Size(), float64(maxPixels)/1e6)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("unreadable: %s", errText(err))
		}
		_, err = rz.DecodeWithPad(dst, size, b, maxPixels)
		return err
	}}
}

// classDirs lists the class folders of dir and reports stray files.
func classDirs(s *source, fsys fs.FS, dir string) ([]string, error) {
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, e := range ents {
		if hidden(e.Name()) {
			continue
		}
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		} else {
			s.skip(path.Join(dir, e.Name()), "not inside a class folder")
		}
	}
	return dirs, nil
}

// walkClass lists the importable files under a class folder (recursively),
// reporting the others.
func walkClass(s *source, fsys fs.FS, dir string, maxPixels int) []string {
	var files []string
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			s.skip(p, "unreadable: %s", errText(err))
			if d != nil && d.IsDir() && p != dir {
				return fs.SkipDir
			}
			return nil
		}
		if hidden(d.Name()) && p != dir {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if reason := checkFile(fsys, p, maxPixels); reason != "" {
			s.skip(p, "%s", reason)
			return nil
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		s.skip(dir, "unreadable: %s", errText(err))
	}
	return files
}

// classTable assigns labels to folder names in sorted order and refuses
// two classes with the same name.
type classTable struct {
	folders []string
	index   map[string]int
}

func newClassTable(folders []string) (*classTable, []data.Class, error) {
	folders = slices.Clone(folders)
	slices.Sort(folders)
	folders = slices.Compact(folders)
	t := &classTable{folders: folders, index: map[string]int{}}
	classes := make([]data.Class, len(folders))
	byName := map[string]string{}
	for i, f := range folders {
		t.index[f] = i
		classes[i] = classFromFolder(f)
		k := strings.ToLower(classes[i].Name)
		if other, ok := byName[k]; ok {
			return nil, nil, fmt.Errorf("two classes have the same name %q: folders %q and %q", classes[i].Name, other, f)
		}
		byName[k] = f
	}
	return t, classes, nil
}

var splitFolderNames = map[string]bool{"train": true, "test": true, "val": true, "valid": true, "validation": true}

// readImageFolder reads a folder per class, or split folders (train, test,
// val ...) each holding a folder per class. Without split folders, a
// seeded stratified split makes "train" and "test" (testFraction of each
// class, rounded; 0 keeps everything in train).
func readImageFolder(fsys fs.FS, seed uint64, testFraction float64, maxPixels int) (*source, error) {
	s := &source{splits: map[string][]item{}}
	top, err := classDirs(s, fsys, ".")
	if err != nil {
		return nil, err
	}
	splitMode := len(top) > 0
	for _, d := range top {
		splitMode = splitMode && splitFolderNames[strings.ToLower(d)]
	}
	type found struct {
		split, folder string
		files         []string
	}
	var all []found
	if splitMode {
		for _, sp := range top {
			cds, err := classDirs(s, fsys, sp)
			if err != nil {
				s.skip(sp, "unreadable: %s", errText(err))
				continue
			}
			for _, cd := range cds {
				all = append(all, found{sp, cd, walkClass(s, fsys, path.Join(sp, cd), maxPixels)})
			}
		}
	} else {
		for _, cd := range top {
			all = append(all, found{"", cd, walkClass(s, fsys, cd, maxPixels)})
		}
	}
	var folders []string
	count := map[string]int{}
	for _, f := range all {
		folders = append(folders, f.folder)
		count[f.folder] += len(f.files)
	}
	folders = dropEmpty(s, folders, count)
	tab, classes, err := newClassTable(folders)
	if err != nil {
		return nil, err
	}
	s.classes = classes
	byClass := map[string][]item{}
	for _, f := range all {
		ci, ok := tab.index[f.folder]
		if !ok {
			continue
		}
		for _, p := range f.files {
			it := fileItem(fsys, p, ci, maxPixels)
			if splitMode {
				s.splits[f.split] = append(s.splits[f.split], it)
			} else {
				byClass[f.folder] = append(byClass[f.folder], it)
			}
		}
	}
	if !splitMode {
		stratify(s, byClass, tab.folders, seed, testFraction)
	}
	return s, s.finish(seed)
}

// dropEmpty removes (and reports) class folders with no importable image.
func dropEmpty(s *source, folders []string, count map[string]int) []string {
	slices.Sort(folders)
	folders = slices.Compact(folders)
	var kept []string
	for _, f := range folders {
		if count[f] == 0 {
			s.skip(f+"/", "empty class: no importable image")
			continue
		}
		kept = append(kept, f)
	}
	return kept
}

// stratify splits each class's examples into test (the first
// round(n*fraction) in hash order) and train.
func stratify(s *source, byClass map[string][]item, folders []string, seed uint64, fraction float64) {
	for _, f := range folders {
		items := byClass[f]
		sortByHash(seed, items)
		nt := int(math.Round(float64(len(items)) * fraction))
		s.splits["test"] = append(s.splits["test"], items[:nt]...)
		s.splits["train"] = append(s.splits["train"], items[nt:]...)
	}
	s.notes = append(s.notes, fmt.Sprintf("no split folders or lists: a stratified split (seed %d) put %.4g of each class in test", seed, fraction))
	if len(s.splits["test"]) == 0 {
		delete(s.splits, "test")
	}
}

// finish orders each split and checks that something is left.
func (s *source) finish(seed uint64) error {
	total := 0
	for name, items := range s.splits {
		sortByHash(seed, items)
		s.order = append(s.order, name)
		total += len(items)
	}
	rank := map[string]int{"train": 0, "validation": 1, "val": 1, "valid": 1, "test": 2}
	sort.Slice(s.order, func(i, j int) bool {
		ri, oki := rank[s.order[i]]
		rj, okj := rank[s.order[j]]
		if oki != okj {
			return oki
		}
		if ri != rj {
			return ri < rj
		}
		return s.order[i] < s.order[j]
	})
	if total == 0 || len(s.classes) == 0 {
		return fmt.Errorf("no importable images found")
	}
	return nil
}

// StanfordDogsTestFraction is the official split's share of test images
// (8,580 of 20,580), used for the stratified split when the lists are absent.
const StanfordDogsTestFraction = 8580.0 / 20580

// readStanfordDogs reads Stanford Dogs: Images/<synset>-<name>/*.jpg, with
// the official splits from train_list.mat and test_list.mat when present.
func readStanfordDogs(fsys fs.FS, seed uint64, testFraction float64, maxPixels int) (*source, error) {
	root := "."
	if st, err := fs.Stat(fsys, "Images"); err == nil && st.IsDir() {
		root = "Images"
	}
	var lists [2]*matv5.File
	var have [2]bool
	for i, name := range []string{"train_list.mat", "test_list.mat"} {
		b, err := fs.ReadFile(fsys, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if lists[i], err = matv5.Parse(b); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		have[i] = true
	}
	if have[0] != have[1] {
		return nil, fmt.Errorf("found only one of train_list.mat and test_list.mat; give both, or neither for a stratified split")
	}
	s := &source{splits: map[string][]item{}}
	cds, err := classDirs(s, fsys, root)
	if err != nil {
		return nil, err
	}
	rel := func(p string) string {
		if root == "." {
			return p
		}
		return strings.TrimPrefix(p, root+"/")
	}
	files := map[string][]string{}
	count := map[string]int{}
	for _, cd := range cds {
		files[cd] = walkClass(s, fsys, path.Join(root, cd), maxPixels)
		count[cd] = len(files[cd])
	}
	folders := dropEmpty(s, cds, count)
	tab, classes, err := newClassTable(folders)
	if err != nil {
		return nil, err
	}
	s.classes = classes
	if !have[0] {
		byClass := map[string][]item{}
		for _, f := range folders {
			for _, p := range files[f] {
				byClass[f] = append(byClass[f], fileItem(fsys, p, tab.index[f], maxPixels))
			}
		}
		if testFraction < 0 {
			testFraction = StanfordDogsTestFraction
		}
		stratify(s, byClass, folders, seed, testFraction)
		return s, s.finish(seed)
	}
	onDisk := map[string]bool{}
	for _, f := range folders {
		for _, p := range files[f] {
			onDisk[rel(p)] = true
		}
	}
	used := map[string]bool{}
	for i, split := range []string{"train", "test"} {
		listName := split + "_list.mat"
		v, err := lists[i].Var("file_list")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", listName, err)
		}
		names, err := v.CellStrings()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", listName, err)
		}
		for _, n := range names {
			n = path.Clean(strings.ReplaceAll(n, "\\", "/"))
			folder, _, _ := strings.Cut(n, "/")
			ci, ok := tab.index[folder]
			if !ok || !onDisk[n] {
				if !used[n] {
					s.skip(path.Join(root, n), "listed in %s, but not found (or not importable)", listName)
				}
				continue
			}
			if used[n] {
				s.notes = append(s.notes, fmt.Sprintf("%s is listed twice; kept in its first split", n))
				continue
			}
			used[n] = true
			s.splits[split] = append(s.splits[split], fileItem(fsys, path.Join(root, n), ci, maxPixels))
		}
	}
	if extra := len(onDisk) - len(used); extra > 0 {
		s.notes = append(s.notes, fmt.Sprintf("%d images are in neither list and were left out", extra))
	}
	s.notes = append(s.notes, "splits from train_list.mat and test_list.mat")
	return s, s.finish(seed)
}

// readMNIST reads the four IDX files (gzipped or not).
func readMNIST(fsys fs.FS, seed uint64) (*source, error) {
	s := &source{splits: map[string][]item{}}
	for i := range 10 {
		s.classes = append(s.classes, data.Class{Name: fmt.Sprint(i)})
	}
	for _, sp := range []struct{ split, prefix string }{{"train", "train"}, {"test", "t10k"}} {
		images, err := readIDX(fsys, sp.prefix+"-images", "idx3-ubyte")
		if err != nil {
			return nil, err
		}
		labels, err := readIDX(fsys, sp.prefix+"-labels", "idx1-ubyte")
		if err != nil {
			return nil, err
		}
		if len(images.Dims) != 3 || len(labels.Dims) != 1 || images.Dims[0] != labels.Dims[0] {
			return nil, fmt.Errorf("MNIST %s: images %v and labels %v do not match (want N x rows x cols and N)", sp.split, images.Dims, labels.Dims)
		}
		n, h, w := images.Dims[0], images.Dims[1], images.Dims[2]
		if h == 0 || w == 0 {
			return nil, fmt.Errorf("MNIST %s: images of %dx%d pixels", sp.split, w, h)
		}
		for i := range n {
			key := fmt.Sprintf("%s/%05d", sp.split, i)
			l := int(labels.Data[i])
			if l >= 10 {
				s.skip(key, "label %d is not a digit", l)
				continue
			}
			pix := images.Data[i*h*w : (i+1)*h*w]
			s.splits[sp.split] = append(s.splits[sp.split], item{class: l, key: key, fill: func(rz *imageio.Resizer, dst []byte, size int) error {
				m := imageio.NewRGB(w, h)
				for j, v := range pix {
					m.Pix[3*j], m.Pix[3*j+1], m.Pix[3*j+2] = v, v, v
				}
				rz.ResizeWithPad(dst, size, m)
				return nil
			}})
		}
	}
	return s, s.finish(seed)
}

// readIDX opens NAME.KIND, NAME.KIND.gz, or the NAME-KIND variants.
func readIDX(fsys fs.FS, name, kind string) (*idx.Array, error) {
	var tried []string
	for _, n := range []string{name + "-" + kind, name + "." + kind} {
		for _, ext := range []string{".gz", ""} {
			f, err := fsys.Open(n + ext)
			if errors.Is(err, fs.ErrNotExist) {
				tried = append(tried, n+ext)
				continue
			}
			if err != nil {
				return nil, err
			}
			a, err := idx.Read(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n+ext, err)
			}
			return a, nil
		}
	}
	return nil, fmt.Errorf("MNIST: none of %s found", strings.Join(tried, ", "))
}
