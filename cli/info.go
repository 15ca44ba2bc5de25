package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/goresnet/goresnet/model/data"
)

func init() {
	register(&command{name: "info", summary: "describe a dataset: name, description, classes, counts per split", run: runInfo})
}

const infoHelp = `
Prints what the notebook prints from tfds' ds_info: the dataset's name and
description, its image size, its classes and the examples per split, from
the dataset's manifest.json. --data is a dataset folder or an http(s) URL
(the server serves datasets under /data/NAME/). With --verify it also reads
every shard and checks its size, sha256 and records against the manifest.

Example:
  goresnet info --data data/digits --verify`

func runInfo(env *Env, args []string) error {
	fs := newFlags(env, "info", "--data DIR|URL [--verify] [--classes]", infoHelp)
	loc := fs.String("data", "", "dataset folder or URL")
	verify := fs.Bool("verify", false, "read every shard and check it against the manifest")
	all := fs.Bool("classes", false, "list every class (by default at most 20)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *loc == "" {
		fs.Usage()
		return fmt.Errorf("--data is required")
	}
	ctx := context.Background()
	ds, err := data.OpenPath(ctx, *loc, nil)
	if err != nil {
		return err
	}
	m := ds.Manifest
	w := env.Stdout
	fmt.Fprintf(w, "name:        %s\n", m.Name)
	if m.Description != "" {
		fmt.Fprintf(w, "description: %s\n", m.Description)
	}
	fmt.Fprintf(w, "location:    %s\n", ds.Source)
	fmt.Fprintf(w, "format:      %s version %d\n", m.Format, m.Version)
	fmt.Fprintf(w, "image:       %dx%dx%d %s (%s); normalised at load time\n", m.Image.Height, m.Image.Width, m.Image.Channels, m.Image.DType, m.Image.Layout)
	names := m.ClassNames()
	shown := names
	if !*all && len(names) > 20 {
		shown = append(names[:20:20], fmt.Sprintf("... (%d more, --classes lists them)", len(names)-20))
	}
	fmt.Fprintf(w, "classes:     %d: %s\n", len(names), strings.Join(shown, ", "))
	if *all {
		for i, c := range m.Classes {
			extra := ""
			if c.Synset != "" {
				extra = "  " + c.Synset
			}
			if c.Folder != "" {
				extra += "  (" + c.Folder + ")"
			}
			fmt.Fprintf(w, "  %4d  %s%s\n", i, c.Name, extra)
		}
	}
	fmt.Fprintf(w, "splits:\n")
	var total int
	var bytes int64
	for _, s := range m.Splits {
		var b int64
		for _, sh := range s.Shards {
			b += sh.Bytes
		}
		total += s.Count
		bytes += b
		fmt.Fprintf(w, "  %-14s %8d examples  %3d shards  %8.1f MB\n", s.Name, s.Count, len(s.Shards), float64(b)/1e6)
	}
	fmt.Fprintf(w, "  %-14s %8d examples             %8.1f MB\n", "total", total, float64(bytes)/1e6)
	if src := m.Source; src != nil {
		var sp []string
		for k, v := range src.Splits {
			sp = append(sp, k+"="+v)
		}
		sort.Strings(sp)
		fmt.Fprintf(w, "source:      %s import, seed %d, splits %s\n", src.Format, src.Seed, strings.Join(sp, " "))
		if src.Resize != "" {
			fmt.Fprintf(w, "preprocess:  %s\n", src.Resize)
		}
	}
	if *verify {
		n := 0
		if err := ds.Verify(ctx, func(string, int, int) { n++ }); err != nil {
			return err
		}
		fmt.Fprintf(w, "verified:    %d shards match the manifest (size, sha256, records, labels)\n", n)
	}
	return nil
}
