package app

import "strconv"

// The server's Content-Security-Policy allows styles from the stylesheet
// only (style-src 'self': no style="" attributes, which go-app's Style()
// writes), so bar lengths and heat-map shades are classes that
// assets/web/goresnet.css defines: gr-w-0 ... gr-w-100 (a width in whole
// percent) and gr-heat-{d,o}-0 ... -10 (a shade in tenths, on the
// diagonal or off it).

// widthClass is the class for a bar of pct percent (clamped to 0..100).
func widthClass(pct float64) string {
	n := int(pct + 0.5)
	if !(pct > 0) { // NaN too
		n = 0
	}
	return "gr-w-" + strconv.Itoa(min(n, 100))
}

// heatClass is a confusion-matrix cell's shade: blue on the diagonal
// (right), red off it (mistakes), stronger with the share of the row;
// none for an empty cell.
func heatClass(share float64, diag bool) string {
	if !(share > 0) {
		return ""
	}
	kind := "o"
	if diag {
		kind = "d"
	}
	return "gr-heat-" + kind + "-" + strconv.Itoa(min(int(10*share+0.5), 10))
}
