package kernels

// SgemmRef is the readable reference for Sgemm: the textbook triple loop,
// accumulating each dot product in float64 so that it is a trustworthy oracle
// for the fast paths. It is slow and only for tests.
func SgemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			old := c[i*ldc+j]
			if beta == 0 {
				old = 0 // BLAS semantics: C is not read when beta is 0 (it may hold NaN)
			}
			c[i*ldc+j] = float32(float64(alpha)*s + float64(beta)*float64(old))
		}
	}
}
