package kernels

// sgemmScalar is the portable fallback: plain Go loops ordered so that the
// innermost loop walks contiguous memory (an axpy over a row of B and C, or a
// dot product over rows of A and B). It adds alpha*op(A)*op(B) into C, which
// the caller has already scaled by beta.
func sgemmScalar(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	switch {
	case !transA && !transB:
		// C[i,:] += alpha*A[i,p] * B[p,:]
		for i := 0; i < m; i++ {
			crow := c[i*ldc : i*ldc+n]
			arow := a[i*lda : i*lda+k]
			for p, av := range arow {
				if av == 0 {
					continue
				}
				axpy(alpha*av, b[p*ldb:p*ldb+n], crow)
			}
		}
	case transA && !transB:
		// A is stored k x m: C[i,:] += alpha*A[p,i] * B[p,:]
		for p := 0; p < k; p++ {
			arow := a[p*lda : p*lda+m]
			brow := b[p*ldb : p*ldb+n]
			for i, av := range arow {
				if av == 0 {
					continue
				}
				axpy(alpha*av, brow, c[i*ldc:i*ldc+n])
			}
		}
	case !transA && transB:
		// B is stored n x k: C[i,j] += alpha * dot(A[i,:], B[j,:])
		for i := 0; i < m; i++ {
			arow := a[i*lda : i*lda+k]
			crow := c[i*ldc : i*ldc+n]
			for j := range crow {
				crow[j] += alpha * dot(arow, b[j*ldb:j*ldb+k])
			}
		}
	default:
		// Both transposed: A is k x m, B is n x k. Rare; C[i,j] += A[p,i]*B[j,p].
		for i := 0; i < m; i++ {
			crow := c[i*ldc : i*ldc+n]
			for j := range crow {
				var s float32
				for p := 0; p < k; p++ {
					s += a[p*lda+i] * b[j*ldb+p]
				}
				crow[j] += alpha * s
			}
		}
	}
}

// axpy does y += a*x with a 4-way unrolled loop.
func axpy(a float32, x, y []float32) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		y[i] += a * x[i]
		y[i+1] += a * x[i+1]
		y[i+2] += a * x[i+2]
		y[i+3] += a * x[i+3]
	}
	for ; i < len(x); i++ {
		y[i] += a * x[i]
	}
}

// dot returns sum x[i]*y[i] with four independent accumulators.
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}
