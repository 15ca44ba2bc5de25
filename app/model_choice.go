package app

import (
	"context"
	"sync"

	"github.com/goresnet/goresnet/worker/msg"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// ModelChoice is the network to train: chosen on the Model page, shown
// and edited in the Train page's form too, and what Start trains. It is
// app-wide state (one per tab), so the two pages always agree; all but
// the weights file is remembered across reloads (localStorage).
type ModelChoice struct {
	Arch     string `json:"arch"`
	WidthDiv int    `json:"width_div"`
	Head     string `json:"head"`
	Size     int    `json:"size"`    // 0: the dataset's image size
	Classes  int    `json:"classes"` // 0: the dataset's; another count only changes the summary
	// Freeze is "full", "up-to" (FreezeUpTo and the groups before it) or
	// "head" (head only).
	Freeze     string `json:"freeze"`
	FreezeUpTo string `json:"freeze_up_to"`
	// Weights is the picked pretrained weights file (a File in the
	// browser; it cannot be kept across reloads), WeightsName its name.
	Weights     any    `json:"-"`
	WeightsName string `json:"-"`
	// WeightsErr is the workers' verdict on the file for this network
	// ("" when it fits or was not checked yet).
	WeightsErr string `json:"-"`
}

// modelKey is where the choice is remembered (localStorage).
const modelKey = "goresnet.model"

func defaultModel() ModelChoice {
	// A small network that trains the built-in digits in minutes; the
	// Model page offers the real ones.
	return ModelChoice{Arch: "resnet18", WidthDiv: 8, Head: "standard", Freeze: "full", FreezeUpTo: "layer2"}
}

var (
	modelMu     sync.Mutex
	theModel    = defaultModel()
	modelLoaded bool
)

// currentModel returns the choice.
func currentModel() ModelChoice {
	modelMu.Lock()
	defer modelMu.Unlock()
	return theModel
}

// updateModel changes the choice and remembers it (ctx may be the zero
// Context, in tests: nothing is remembered then).
func updateModel(ctx app.Context, f func(m *ModelChoice)) ModelChoice {
	modelMu.Lock()
	f(&theModel)
	m := theModel
	modelMu.Unlock()
	if ls := ctx.LocalStorage(); ls != nil && app.IsClient {
		ls.Set(modelKey, m)
	}
	return m
}

// loadModel reads the remembered choice once per page load.
func loadModel(ctx app.Context) {
	modelMu.Lock()
	defer modelMu.Unlock()
	ls := ctx.LocalStorage()
	if modelLoaded || ls == nil || !app.IsClient {
		return
	}
	modelLoaded = true
	var m ModelChoice
	if err := ls.Get(modelKey, &m); err == nil && m.Arch != "" {
		m.Weights, m.WeightsName = theModel.Weights, theModel.WeightsName
		if m.WidthDiv < 1 {
			m.WidthDiv = 1
		}
		if m.Freeze == "" {
			m.Freeze, m.FreezeUpTo = "full", "layer2"
		}
		theModel = m
	}
}

// resetModel puts the default choice back (tests).
func resetModel() {
	modelMu.Lock()
	theModel, modelLoaded = defaultModel(), false
	modelMu.Unlock()
}

// Models is what the Model and Export pages ask of the workers
// (wasm/trainer in the browser; a fake in tests).
type Models interface {
	// Describe builds the network in a worker: its summary, its graph, and
	// the check of a weights file (a File in the browser, or nil).
	Describe(ctx context.Context, req msg.ModelDescribeRequest, weights any) (*msg.ModelDescription, error)
	// Export converts a stored checkpoint in a worker and offers the file
	// as a download.
	Export(ctx context.Context, req msg.CheckpointExportRequest) (*msg.ExportResult, error)
}

var theModels Models

// SetModels installs the model service (the wasm main does).
func SetModels(m Models) {
	servicesMu.Lock()
	theModels = m
	servicesMu.Unlock()
}

func models() Models {
	servicesMu.Lock()
	defer servicesMu.Unlock()
	return theModels
}
