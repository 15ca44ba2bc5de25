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
// The weights of 4 pixels are computed as one vector, truncated to 24
// bits (the scalar loop rounds to float32: both within 6e-8 of a pixel).
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
	// The 4 pixels' fractions at once: the low 32 bits of X + k*dX step
	// by 4*dX modulo 2^32; their top 24 bits convert exactly to float32.
	var lx, ly [4]uint32
	for k := range 4 {
		lx[k], ly[k] = uint32(X+int64(k)*dX), uint32(Y+int64(k)*dY)
	}
	fxl, fyl := archsimd.LoadUint32x4Array(&lx), archsimd.LoadUint32x4Array(&ly)
	sx4, sy4 := archsimd.BroadcastUint32x4(uint32(4*dX)), archsimd.BroadcastUint32x4(uint32(4*dY))
	scale := archsimd.BroadcastFloat32x4(1.0 / (1 << 24))
	var sr, sg, sb f32x4
	var fx4, fy4 f32x4
	px := func(fx, fy f32x4) f32x4 {
		i := int(Y>>32)*w3 + 3*int(X>>32)
		X += dX
		Y += dY
		tl, tr := ld4(pp, i), ld4(pp, i+3)
		bl, br := ld4(pp, i+w3), ld4(pp, i+w3+3)
		t := tr.Sub(tl).MulAdd(fx, tl)
		b := br.Sub(bl).MulAdd(fx, bl)
		return b.Sub(t).MulAdd(fy, t)
	}
	for x := 0; x < n; x += 4 {
		fx4 = fxl.ShiftAllRight(8).AsInt32x4().ConvertToFloat32().Mul(scale)
		fy4 = fyl.ShiftAllRight(8).AsInt32x4().ConvertToFloat32().Mul(scale)
		fxl, fyl = fxl.Add(sx4), fyl.Add(sy4)
		a := px(fx4.ConcatPermuteScalars(0, 0, 4, 4, fx4), fy4.ConcatPermuteScalars(0, 0, 4, 4, fy4)).AsInt32x4()
		b := px(fx4.ConcatPermuteScalars(1, 1, 5, 5, fx4), fy4.ConcatPermuteScalars(1, 1, 5, 5, fy4)).AsInt32x4()
		c := px(fx4.ConcatPermuteScalars(2, 2, 6, 6, fx4), fy4.ConcatPermuteScalars(2, 2, 6, 6, fy4)).AsInt32x4()
		d := px(fx4.ConcatPermuteScalars(3, 3, 7, 7, fx4), fy4.ConcatPermuteScalars(3, 3, 7, 7, fy4)).AsInt32x4()
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
