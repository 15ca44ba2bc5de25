package cli

import (
	"flag"
	"fmt"
	"strings"

	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/weights"
)

// netFlags are the flags that say which network a command describes or
// exports: an architecture and its options, or a weights file that holds
// them.
type netFlags struct {
	arch, head, weights, freeze string
	classes, size, widthDiv     int
	headOnly                    bool
}

// addNetFlags registers the network flags; withFreeze adds --freeze and
// --head-only, which only matter where trainability is shown.
func addNetFlags(fs *flag.FlagSet, withFreeze bool) *netFlags {
	f := &netFlags{}
	fs.StringVar(&f.arch, "arch", "", "architecture: "+strings.Join(resnet.ArchNames(), ", ")+" (default: from --weights, else resnet50)")
	fs.IntVar(&f.classes, "classes", 0, "class count (default: from --weights, else 1000)")
	fs.IntVar(&f.size, "size", 0, "input height and width, a multiple of 32 (the notebook head is built for it; default: from --weights' metadata, else 224)")
	fs.IntVar(&f.widthDiv, "width-div", 0, "divide every channel count by this (1 is the real network; default: from --weights, else 1)")
	fs.StringVar(&f.head, "head", "", "classifier head: standard (global average pool, fc) or notebook (2x2 'same' average pool, dropout, flatten, dense) (default: from --weights, else standard)")
	fs.StringVar(&f.weights, "weights", "", "a weights file (safetensors or PyTorch .pth, torchvision names) to take the network from")
	if withFreeze {
		fs.StringVar(&f.freeze, "freeze", "", "comma-separated groups or name prefixes to freeze: "+strings.Join(resnet.FreezeUnits, ", ")+", or e.g. layer4.2")
		fs.BoolVar(&f.headOnly, "head-only", false, "freeze everything but fc")
	}
	return f
}

// frozen reports whether the flags freeze anything.
func (f *netFlags) frozen() bool { return f.freeze != "" || f.headOnly }

// build makes the network the flags describe, with the weights file's
// values when --weights is given (its shapes then decide the class count
// and width, and its metadata the head and input size), else freshly
// initialised. The input size to describe it at is net.Config.InputSize.
func (f *netFlags) build() (*resnet.Net, *weights.File, error) {
	cfg := resnet.Config{Arch: f.arch, Classes: f.classes, WidthDiv: f.widthDiv, Dropout: 0.5, InputSize: f.size, Seed: 1}
	if f.size != 0 {
		if err := resnet.CheckInputSize(f.size, f.size); err != nil {
			return nil, nil, fmt.Errorf("--size: %w", err)
		}
	}
	if f.head != "" {
		h, err := resnet.ParseHead(f.head)
		if err != nil {
			return nil, nil, err
		}
		cfg.Head = h
	}
	var wf *weights.File
	if f.weights != "" {
		var err error
		if wf, err = weights.Open(f.weights); err != nil {
			return nil, nil, err
		}
		if err := weights.InferConfig(wf, &cfg); err != nil {
			return nil, nil, err
		}
		if f.head != "" { // the flag wins over the file's metadata
			cfg.Head, _ = resnet.ParseHead(f.head)
		}
	}
	if cfg.Arch == "" {
		cfg.Arch = "resnet50"
	}
	if cfg.Classes == 0 {
		cfg.Classes = 1000
	}
	if cfg.InputSize == 0 {
		cfg.InputSize = 224
	}
	if wf != nil {
		// Before building: a file declaring a huge network is refused
		// before the network is allocated.
		if err := weights.CheckFits(wf, cfg, weights.LoadOptions{}); err != nil {
			return nil, nil, err
		}
	}
	net, err := resnet.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	if wf != nil {
		if err := weights.LoadNet(net, wf, weights.LoadOptions{}); err != nil {
			return nil, nil, err
		}
	}
	if f.headOnly && f.freeze != "" {
		return nil, nil, fmt.Errorf("--freeze and --head-only exclude each other")
	}
	if f.headOnly {
		if err := net.FreezeBelow("fc"); err != nil {
			return nil, nil, err
		}
	} else if f.freeze != "" {
		if err := net.SetTrainable(strings.Split(f.freeze, ",")); err != nil {
			return nil, nil, err
		}
	}
	return net, wf, nil
}
