//go:build goexperiment.simd && amd64

package augment

import (
	"simd/archsimd"
	"unsafe"
)

// The amd64 vector loops (AVX2 with FMA; nothing without them). Each
// processes whole vectors of its slices and returns how many elements that
// was; the caller does the rest with the scalar loop. They step through
// raw pointers within the lengths they were given, and end with
// VZEROUPPER: the scalar SSE code after them (the sampling loops) runs far
// slower with the upper halves of the vector registers dirty (measured:
// the rotation loops took 1.6x as long).

var vecOK = archsimd.X86.AVX2() && archsimd.X86.FMA()

func vecPath() string {
	if vecOK {
		return "f32x8_avx2_fma"
	}
	return "scalar"
}

type f32x8 = archsimd.Float32x8

func ld8(p unsafe.Pointer, i int) f32x8 {
	return archsimd.LoadFloat32x8Array((*[8]float32)(unsafe.Add(p, 4*i)))
}

func st8(p unsafe.Pointer, i int, v f32x8) { v.StoreArray((*[8]float32)(unsafe.Add(p, 4*i))) }

// contrastVec is contrastPlane's loop: v*f + k clipped to [lo, hi].
func contrastVec(plane []float32, f, k, lo, hi float32) int {
	if !vecOK {
		return 0
	}
	n := len(plane) &^ 7
	p := unsafe.Pointer(unsafe.SliceData(plane))
	fv, kv := archsimd.BroadcastFloat32x8(f), archsimd.BroadcastFloat32x8(k)
	lv, hv := archsimd.BroadcastFloat32x8(lo), archsimd.BroadcastFloat32x8(hi)
	for i := 0; i < n; i += 8 {
		st8(p, i, ld8(p, i).MulAdd(fv, kv).Max(lv).Min(hv))
	}
	archsimd.ClearAVXUpperBits()
	return n
}

// toFloatVec is toFloat's loop: dst[i] = float32(src[i]).
func toFloatVec(dst []float32, src []uint8) int {
	if !vecOK {
		return 0
	}
	n := min(len(dst), len(src))
	if n < 16 {
		return 0
	}
	// 16 bytes are loaded for 8 elements: stop while 16 remain.
	m := (n - 8) &^ 7
	d, s := unsafe.Pointer(unsafe.SliceData(dst)), unsafe.Pointer(unsafe.SliceData(src))
	for i := 0; i < m; i += 8 {
		b := archsimd.LoadUint8x16Array((*[16]uint8)(unsafe.Add(s, i)))
		st8(d, i, b.ExtendLo8ToUint32().AsInt32x8().ConvertToFloat32())
	}
	archsimd.ClearAVXUpperBits()
	return m
}

type f32x4 = archsimd.Float32x4

func ld4(p unsafe.Pointer, i int) f32x4 {
	return archsimd.LoadFloat32x4Array((*[4]float32)(unsafe.Add(p, 4*i)))
}

func st4(p unsafe.Pointer, i int, v f32x4) { v.StoreArray((*[4]float32)(unsafe.Add(p, 4*i))) }

// innerVec is rotGeom.inner's loop for whole groups of 4 pixels: each
// pixel's four RGB taps are loaded as 4-lane vectors (the fourth lane,
// the next pixel's red or the padding after pix, is ignored), lerped as
// one, and every 4 pixels are transposed into 4 reds, greens and blues.
// X, Y, dX, dY are inner's 32.32 fixed-point coordinates; pix must extend
// at least one element past the last bottom-right tap. It returns how
// many pixels it did, or 0 if the bound check fails.
func innerVec(d0, d1, d2, pix []float32, X, Y, dX, dY int64, w3 int, sum *[3]float32) int {
	n := min(len(d0), len(d1), len(d2)) &^ 3
	if !vecOK || n == 0 {
		return 0
	}
	if !vecTapsIn(n, X, Y, dX, dY, w3, len(pix)) {
		return 0
	}
	pp := unsafe.Pointer(unsafe.SliceData(pix))
	p0, p1, p2 := unsafe.Pointer(unsafe.SliceData(d0)), unsafe.Pointer(unsafe.SliceData(d1)), unsafe.Pointer(unsafe.SliceData(d2))
	var sr, sg, sb f32x4
	px := func() f32x4 {
		i := int(Y>>32)*w3 + 3*int(X>>32)
		fx := archsimd.BroadcastFloat32x4(float32(uint32(X)) * (1.0 / fixOne))
		fy := archsimd.BroadcastFloat32x4(float32(uint32(Y)) * (1.0 / fixOne))
		X += dX
		Y += dY
		tl, tr := ld4(pp, i), ld4(pp, i+3)
		bl, br := ld4(pp, i+w3), ld4(pp, i+w3+3)
		t := tr.Sub(tl).MulAdd(fx, tl)
		b := br.Sub(bl).MulAdd(fx, bl)
		return b.Sub(t).MulAdd(fy, t)
	}
	for x := 0; x < n; x += 4 {
		a, b, c, d := px().AsInt32x4(), px().AsInt32x4(), px().AsInt32x4(), px().AsInt32x4()
		ab, cd := a.InterleaveLo(b).AsInt64x2(), c.InterleaveLo(d).AsInt64x2()   // r r g g
		ab2, cd2 := a.InterleaveHi(b).AsInt64x2(), c.InterleaveHi(d).AsInt64x2() // b b . .
		r := ab.InterleaveLo(cd).AsFloat32x4()
		g := ab.InterleaveHi(cd).AsFloat32x4()
		bl := ab2.InterleaveLo(cd2).AsFloat32x4()
		st4(p0, x, r)
		st4(p1, x, g)
		st4(p2, x, bl)
		sr, sg, sb = sr.Add(r), sg.Add(g), sb.Add(bl)
	}
	var a [3][4]float32
	sr.StoreArray(&a[0])
	sg.StoreArray(&a[1])
	sb.StoreArray(&a[2])
	for c := range 3 {
		sum[c] += (a[c][0] + a[c][1]) + (a[c][2] + a[c][3])
	}
	return n
}
