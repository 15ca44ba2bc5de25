// Package e2e holds the browser tests: the server runs in-process with a
// freshly built app, and headless Chromium (driven with chromedp) loads
// it, checks it, and saves a screenshot of each page into the artefacts
// folder ($GORESNET_ARTIFACTS, else e2e/artifacts). The tests skip, saying
// why, only when Chromium is not installed (apt-get install -y chromium;
// .ci/run installs it).
package e2e
