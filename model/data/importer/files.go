package importer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// FileList is a read-only fs.FS made of named files whose bytes are read
// only when a file is opened: the browser's import hands Import the files a
// person dropped or picked (File objects, read one at a time in the
// worker) as such a folder, so the same readers (imagefolder's class
// folders, the stratified split) and the same bad-input handling apply as
// for `goresnet import`, without holding every picture in memory at once.
type FileList struct {
	files map[string]listFile
	dirs  map[string][]string // folder -> sorted child names
}

type listFile struct {
	size int64
	read func() ([]byte, error)
}

// NewFileList makes an empty FileList.
func NewFileList() *FileList {
	return &FileList{files: map[string]listFile{}, dirs: map[string][]string{".": nil}}
}

// CleanPath turns a path as the browser gives it ("/pets/cat/1.jpg",
// "pets\\cat\\1.jpg") into a valid fs path, or "" when nothing is left.
func CleanPath(p string) string {
	p = strings.ReplaceAll(p, "\\", "/")
	p = path.Clean("/" + p)
	p = strings.TrimPrefix(p, "/")
	if p == "" || p == "." || !fs.ValidPath(p) {
		return ""
	}
	return p
}

// Add adds the file name (a slash-separated path, cleaned with CleanPath)
// of size bytes; read returns its bytes. A path that is empty after
// cleaning, or that is taken already (as a file or a folder), is an error
// naming it.
func (l *FileList) Add(name string, size int64, read func() ([]byte, error)) error {
	p := CleanPath(name)
	if p == "" {
		return fmt.Errorf("%q: not a file path", name)
	}
	if _, ok := l.files[p]; ok {
		return fmt.Errorf("%s: given twice", p)
	}
	if _, ok := l.dirs[p]; ok {
		return fmt.Errorf("%s: is a folder too", p)
	}
	// Register the folders above it.
	for child, dir := p, path.Dir(p); ; child, dir = dir, path.Dir(dir) {
		if _, ok := l.files[dir]; ok {
			return fmt.Errorf("%s: %s is a file, not a folder", p, dir)
		}
		_, existed := l.dirs[dir]
		base := path.Base(child)
		if i, found := slices.BinarySearch(l.dirs[dir], base); !found {
			l.dirs[dir] = slices.Insert(l.dirs[dir], i, base)
		}
		if existed || dir == "." {
			break
		}
	}
	l.files[p] = listFile{size: size, read: read}
	return nil
}

// Len is the number of files.
func (l *FileList) Len() int { return len(l.files) }

// StripCommonFolder removes a single top folder that holds everything
// ("pets/cat/1.jpg" -> "cat/1.jpg"), as when a person drops or picks the
// folder that holds the class folders. It reports whether it did.
func (l *FileList) StripCommonFolder() bool {
	top := l.dirs["."]
	if len(top) != 1 {
		return false
	}
	if _, isDir := l.dirs[top[0]]; !isDir {
		return false
	}
	// Only strip when the folder's own children are folders (the classes):
	// a dropped class folder alone stays a one-class dataset.
	hasSub := false
	for _, c := range l.dirs[top[0]] {
		if _, ok := l.dirs[path.Join(top[0], c)]; ok {
			hasSub = true
		}
	}
	if !hasSub {
		return false
	}
	prefix := top[0] + "/"
	old := l.files
	*l = *NewFileList()
	for p, f := range old {
		if err := l.Add(strings.TrimPrefix(p, prefix), f.size, f.read); err != nil {
			panic(err) // cannot happen: the paths were unique under the prefix
		}
	}
	return true
}

// Open implements fs.FS.
func (l *FileList) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if f, ok := l.files[name]; ok {
		b, err := f.read()
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &openFile{info: l.info(name), r: bytes.NewReader(b)}, nil
	}
	if _, ok := l.dirs[name]; ok {
		ents, _ := l.ReadDir(name)
		return &openDir{info: l.info(name), ents: ents}, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// ReadDir implements fs.ReadDirFS.
func (l *FileList) ReadDir(name string) ([]fs.DirEntry, error) {
	kids, ok := l.dirs[name]
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	ents := make([]fs.DirEntry, len(kids))
	for i, k := range kids {
		ents[i] = fs.FileInfoToDirEntry(l.info(path.Join(name, k)))
	}
	return ents, nil
}

// Stat implements fs.StatFS.
func (l *FileList) Stat(name string) (fs.FileInfo, error) {
	_, isFile := l.files[name]
	_, isDir := l.dirs[name]
	if !isFile && !isDir {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return l.info(name), nil
}

func (l *FileList) info(name string) fileInfo {
	if f, ok := l.files[name]; ok {
		return fileInfo{name: path.Base(name), size: f.size}
	}
	return fileInfo{name: path.Base(name), dir: true}
}

type fileInfo struct {
	name string
	size int64
	dir  bool
}

func (i fileInfo) Name() string { return i.name }
func (i fileInfo) Size() int64  { return i.size }
func (i fileInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return i.dir }
func (i fileInfo) Sys() any           { return nil }

type openFile struct {
	info fileInfo
	r    *bytes.Reader
}

func (f *openFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *openFile) Read(b []byte) (int, error) { return f.r.Read(b) }
func (f *openFile) Close() error               { return nil }

type openDir struct {
	info fileInfo
	ents []fs.DirEntry
	off  int
}

func (d *openDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}
func (d *openDir) Close() error { return nil }
func (d *openDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.ents[d.off:]
	if n <= 0 {
		d.off = len(d.ents)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	rest = rest[:min(n, len(rest))]
	d.off += len(rest)
	return rest, nil
}
