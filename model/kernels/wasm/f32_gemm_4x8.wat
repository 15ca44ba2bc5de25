;; f32_gemm_4x8__wasmsimd_wat: the SGEMM block kernel in hand-written
;; WebAssembly SIMD. It is instantiated on the Go module's own memory (see
;; ../ukernel_f32x4_wasm_wat.go, which assembles this file at run time with
;; ../internal/wat) and called once per packed block, not per tile.
;;
;; Why hand-written: Go's wasm backend cannot fold constant offsets into
;; v128/f32 loads (each costs an i64 add and a wrap), has no load32_splat
;; and no lane shuffle (a broadcast of a packed A value is a scalar load +
;; splat, or extract_lane + splat: two shuffle uops), and routes every
;; loop back-edge through its resumption br_table. Here the inner loop is
;; 2 v128.load (B) + 4 v128.load32_splat (A, a load-port broadcast on x86)
;; + 8 f32x4.mul + 8 f32x4.add with offsets folded: 42-44 GFLOP/s per CPU
;; second in node 20 against 27 for the best archsimd kernel.
;;
;; Measured and rejected (node 20, x86-64, block of kc=256, mc=120,
;; nc=480, CPU-time GFLOP/s, median of 5): 2- and 4-step unrolled k loops
;; 27 and 23 (TurboFan hoists all the loads of an iteration and spills);
;; i8x16.shuffle splats of one v128 A load 37; more than 8 accumulators
;; (5x8, 6x8, 4x12, 4x16, 8x8) 21-26 (spills: V8 has 15 allocatable xmm
;; registers and needs a temporary per product, there being no FMA);
;; 2x16 (also 8 accumulators) 44, a tie; a down-counter instead of the end
;; pointer, a tie.

(module
  (import "env" "mem" (memory 0))

  ;; Address of the parameter block in Go memory (7 x i32: kc, mc, nc,
  ;; a, b, c, ldc); Go writes it before each call, so a call takes no
  ;; arguments and the Go side allocates nothing to make it.
  (global $params (mut i32) (i32.const 0))

  ;; init records where the parameter block is and returns the word found
  ;; there: Go stores a random word first, so an equal answer proves that
  ;; this instance runs on the caller's memory.
  (func $init (export "init") (param $addr i32) (result i32)
    (global.set $params (local.get $addr))
    (i32.load (local.get $addr)))

  ;; block: C[0:mc][0:nc] += A * B over packed panels, mc a multiple of 4
  ;; and nc of 8 (whole tiles only; the Go driver does the edges). A holds
  ;; mc/4 panels of kc x 4 values, B nc/8 panels of kc x 8, C is row-major
  ;; with row stride ldc values. Tiles go down a B panel (which stays in
  ;; L1) before moving to the next one, as in the Go driver.
  (func $block (export "f32_gemm_4x8_block")
    (local $kc i32) (local $mc i32) (local $nc i32) (local $a i32) (local $b i32) (local $c i32) (local $ldc i32)
    (local $jr i32) (local $ir i32) (local $ap i32) (local $bp i32) (local $bpanel i32) (local $bend i32) (local $cp i32)
    (local $c0_0 v128) (local $c0_1 v128) (local $c1_0 v128) (local $c1_1 v128)
    (local $c2_0 v128) (local $c2_1 v128) (local $c3_0 v128) (local $c3_1 v128)
    (local $b0 v128) (local $b1 v128) (local $av v128)
    (local.set $kc (i32.load offset=0 (global.get $params)))
    (local.set $mc (i32.load offset=4 (global.get $params)))
    (local.set $nc (i32.load offset=8 (global.get $params)))
    (local.set $a (i32.load offset=12 (global.get $params)))
    (local.set $b (i32.load offset=16 (global.get $params)))
    (local.set $c (i32.load offset=20 (global.get $params)))
    (local.set $ldc (i32.shl (i32.load offset=24 (global.get $params)) (i32.const 2))) ;; in bytes
    (if (i32.eqz (local.get $kc)) (then (return)))
    (local.set $jr (i32.const 0))
    (block $jdone
      (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $jr) (local.get $nc)))
        (local.set $bpanel (i32.add (local.get $b) (i32.shl (i32.mul (local.get $jr) (local.get $kc)) (i32.const 2))))
        (local.set $bend (i32.add (local.get $bpanel) (i32.shl (local.get $kc) (i32.const 5))))
        (local.set $ir (i32.const 0))
        (block $idone
          (loop $iloop
            (br_if $idone (i32.ge_u (local.get $ir) (local.get $mc)))
            (local.set $ap (i32.add (local.get $a) (i32.shl (i32.mul (local.get $ir) (local.get $kc)) (i32.const 2))))
            (local.set $bp (local.get $bpanel))
            (local.set $c0_0 (v128.const i32x4 0 0 0 0))
            (local.set $c0_1 (v128.const i32x4 0 0 0 0))
            (local.set $c1_0 (v128.const i32x4 0 0 0 0))
            (local.set $c1_1 (v128.const i32x4 0 0 0 0))
            (local.set $c2_0 (v128.const i32x4 0 0 0 0))
            (local.set $c2_1 (v128.const i32x4 0 0 0 0))
            (local.set $c3_0 (v128.const i32x4 0 0 0 0))
            (local.set $c3_1 (v128.const i32x4 0 0 0 0))
            ;; One step of k: B row (8 values), A column (4 values).
            (loop $kloop
              (local.set $b0 (v128.load offset=0 (local.get $bp)))
              (local.set $b1 (v128.load offset=16 (local.get $bp)))
              (local.set $av (v128.load32_splat offset=0 (local.get $ap)))
              (local.set $c0_0 (f32x4.add (local.get $c0_0) (f32x4.mul (local.get $av) (local.get $b0))))
              (local.set $c0_1 (f32x4.add (local.get $c0_1) (f32x4.mul (local.get $av) (local.get $b1))))
              (local.set $av (v128.load32_splat offset=4 (local.get $ap)))
              (local.set $c1_0 (f32x4.add (local.get $c1_0) (f32x4.mul (local.get $av) (local.get $b0))))
              (local.set $c1_1 (f32x4.add (local.get $c1_1) (f32x4.mul (local.get $av) (local.get $b1))))
              (local.set $av (v128.load32_splat offset=8 (local.get $ap)))
              (local.set $c2_0 (f32x4.add (local.get $c2_0) (f32x4.mul (local.get $av) (local.get $b0))))
              (local.set $c2_1 (f32x4.add (local.get $c2_1) (f32x4.mul (local.get $av) (local.get $b1))))
              (local.set $av (v128.load32_splat offset=12 (local.get $ap)))
              (local.set $c3_0 (f32x4.add (local.get $c3_0) (f32x4.mul (local.get $av) (local.get $b0))))
              (local.set $c3_1 (f32x4.add (local.get $c3_1) (f32x4.mul (local.get $av) (local.get $b1))))
              (local.set $ap (i32.add (local.get $ap) (i32.const 16)))
              (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
              (br_if $kloop (i32.ne (local.get $bp) (local.get $bend))))
            ;; C tile += accumulators.
            (local.set $cp (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $ir) (i32.shr_u (local.get $ldc) (i32.const 2))) (local.get $jr)) (i32.const 2))))
            (v128.store offset=0 (local.get $cp) (f32x4.add (v128.load offset=0 (local.get $cp)) (local.get $c0_0)))
            (v128.store offset=16 (local.get $cp) (f32x4.add (v128.load offset=16 (local.get $cp)) (local.get $c0_1)))
            (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
            (v128.store offset=0 (local.get $cp) (f32x4.add (v128.load offset=0 (local.get $cp)) (local.get $c1_0)))
            (v128.store offset=16 (local.get $cp) (f32x4.add (v128.load offset=16 (local.get $cp)) (local.get $c1_1)))
            (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
            (v128.store offset=0 (local.get $cp) (f32x4.add (v128.load offset=0 (local.get $cp)) (local.get $c2_0)))
            (v128.store offset=16 (local.get $cp) (f32x4.add (v128.load offset=16 (local.get $cp)) (local.get $c2_1)))
            (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
            (v128.store offset=0 (local.get $cp) (f32x4.add (v128.load offset=0 (local.get $cp)) (local.get $c3_0)))
            (v128.store offset=16 (local.get $cp) (f32x4.add (v128.load offset=16 (local.get $cp)) (local.get $c3_1)))
            (local.set $ir (i32.add (local.get $ir) (i32.const 4)))
            (br $iloop)))
        (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
        (br $jloop))))

  ;; pack_rows_8 copies rows of 8 values into panels: for each of
  ;; `panels` panels, `rows` rows; panel q row r (32 bytes at dst +
  ;; q*dstride + r*32) = src + r*sstride + q*32. Parameters: rows,
  ;; panels, src, sstride, dst, dstride (strides in bytes). This is the
  ;; packing of B (dense rows, or im2col rows staged by Go) for the 4x8
  ;; tiles; in Go it costs 0.55 ns a value, here ~0.1.
  (func $pack_rows_8 (export "pack_rows_8")
    (local $rows i32) (local $panels i32) (local $src i32) (local $ss i32) (local $dst i32) (local $ds i32)
    (local $s i32) (local $d i32) (local $r i32)
    (local.set $rows (i32.load offset=0 (global.get $params)))
    (local.set $panels (i32.load offset=4 (global.get $params)))
    (local.set $src (i32.load offset=8 (global.get $params)))
    (local.set $ss (i32.load offset=12 (global.get $params)))
    (local.set $dst (i32.load offset=16 (global.get $params)))
    (local.set $ds (i32.load offset=20 (global.get $params)))
    (block $qdone
      (loop $qloop
        (br_if $qdone (i32.eqz (local.get $panels)))
        (local.set $s (local.get $src))
        (local.set $d (local.get $dst))
        (local.set $r (local.get $rows))
        (block $rdone
          (loop $rloop
            (br_if $rdone (i32.eqz (local.get $r)))
            (v128.store offset=0 (local.get $d) (v128.load offset=0 (local.get $s)))
            (v128.store offset=16 (local.get $d) (v128.load offset=16 (local.get $s)))
            (local.set $s (i32.add (local.get $s) (local.get $ss)))
            (local.set $d (i32.add (local.get $d) (i32.const 32)))
            (local.set $r (i32.sub (local.get $r) (i32.const 1)))
            (br $rloop)))
        (local.set $src (i32.add (local.get $src) (i32.const 32)))
        (local.set $dst (i32.add (local.get $dst) (local.get $ds)))
        (local.set $panels (i32.sub (local.get $panels) (i32.const 1)))
        (br $qloop))))

  ;; pack_cols_4 packs groups of 4 contiguous columns (A as stored, its
  ;; rows; or B^T) by 4x4 transposes: group g (columns at src +
  ;; g*sgroup + jj*js, jj < 4) goes to dst + g*dgroup, its row p (the 4
  ;; values of step p) at + p*drow. Parameters: kc, groups, src, js,
  ;; sgroup, dst, drow, dgroup (strides in bytes). Panels of 4 are one
  ;; group each (drow 16); panels of 8 take two calls, one per half.
  (func $pack_cols_4 (export "pack_cols_4")
    (local $kc i32) (local $panels i32) (local $src i32) (local $js i32) (local $d i32)
    (local $sgroup i32) (local $dst i32) (local $drow i32) (local $dgroup i32)
    (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32) (local $k i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $kc (i32.load offset=0 (global.get $params)))
    (local.set $panels (i32.load offset=4 (global.get $params)))
    (local.set $src (i32.load offset=8 (global.get $params)))
    (local.set $js (i32.load offset=12 (global.get $params)))
    (local.set $sgroup (i32.load offset=16 (global.get $params)))
    (local.set $dst (i32.load offset=20 (global.get $params)))
    (local.set $drow (i32.load offset=24 (global.get $params)))
    (local.set $dgroup (i32.load offset=28 (global.get $params)))
    (block $qdone
      (loop $qloop
        (br_if $qdone (i32.eqz (local.get $panels)))
        (local.set $d (local.get $dst))
        (local.set $s0 (local.get $src))
        (local.set $s1 (i32.add (local.get $s0) (local.get $js)))
        (local.set $s2 (i32.add (local.get $s1) (local.get $js)))
        (local.set $s3 (i32.add (local.get $s2) (local.get $js)))
        (local.set $k (local.get $kc))
        (block $kdone
          (loop $kloop
            (br_if $kdone (i32.lt_u (local.get $k) (i32.const 4)))
            (local.set $r0 (v128.load (local.get $s0)))
            (local.set $r1 (v128.load (local.get $s1)))
            (local.set $r2 (v128.load (local.get $s2)))
            (local.set $r3 (v128.load (local.get $s3)))
            ;; t0 = a0k0 a1k0 a0k1 a1k1, t1 = a2k0 a3k0 a2k1 a3k1,
            ;; t2 = a0k2 a1k2 a0k3 a1k3, t3 = a2k2 a3k2 a2k3 a3k3.
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
            (local.set $t1 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
            (local.set $t2 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
            (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
            (v128.store (local.get $d) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1)))
            (local.set $d (i32.add (local.get $d) (local.get $drow)))
            (v128.store (local.get $d) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t1)))
            (local.set $d (i32.add (local.get $d) (local.get $drow)))
            (v128.store (local.get $d) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t2) (local.get $t3)))
            (local.set $d (i32.add (local.get $d) (local.get $drow)))
            (v128.store (local.get $d) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t2) (local.get $t3)))
            (local.set $d (i32.add (local.get $d) (local.get $drow)))
            (local.set $s0 (i32.add (local.get $s0) (i32.const 16)))
            (local.set $s1 (i32.add (local.get $s1) (i32.const 16)))
            (local.set $s2 (i32.add (local.get $s2) (i32.const 16)))
            (local.set $s3 (i32.add (local.get $s3) (i32.const 16)))
            (local.set $k (i32.sub (local.get $k) (i32.const 4)))
            (br $kloop)))
        ;; The last kc%4 rows, a value at a time (as 32-bit words).
        (block $tdone
          (loop $tloop
            (br_if $tdone (i32.eqz (local.get $k)))
            (i32.store offset=0 (local.get $d) (i32.load (local.get $s0)))
            (i32.store offset=4 (local.get $d) (i32.load (local.get $s1)))
            (i32.store offset=8 (local.get $d) (i32.load (local.get $s2)))
            (i32.store offset=12 (local.get $d) (i32.load (local.get $s3)))
            (local.set $s0 (i32.add (local.get $s0) (i32.const 4)))
            (local.set $s1 (i32.add (local.get $s1) (i32.const 4)))
            (local.set $s2 (i32.add (local.get $s2) (i32.const 4)))
            (local.set $s3 (i32.add (local.get $s3) (i32.const 4)))
            (local.set $d (i32.add (local.get $d) (local.get $drow)))
            (local.set $k (i32.sub (local.get $k) (i32.const 1)))
            (br $tloop)))
        (local.set $src (i32.add (local.get $src) (local.get $sgroup)))
        (local.set $dst (i32.add (local.get $dst) (local.get $dgroup)))
        (local.set $panels (i32.sub (local.get $panels) (i32.const 1)))
        (br $qloop))))

  ;; im2col_rows writes rows [p0, p0+rows) of the im2col matrix of image x,
  ;; columns [j0, j0+w), at out with row stride w: row p is kernel tap
  ;; (c, ky, kx), column j output pixel (oy, ox), the value the input pixel
  ;; that tap sees there, 0 in the padding (as im2colRow in gemm_pack.go).
  ;; Parameters (i32): x, H, W, KH, KW, stride, padH, padW, OW, p0, rows,
  ;; j0, w, out. In Go the short runs of ResNet's later stages cost 2-2.5
  ;; ns a value (bounds checks, a call per copy or division).
  (func $im2col_rows (export "im2col_rows")
    (local $x i32) (local $H i32) (local $W i32) (local $KH i32) (local $KW i32) (local $st i32)
    (local $padH i32) (local $padW i32) (local $OW i32) (local $p i32) (local $rows i32) (local $j0 i32)
    (local $w i32) (local $out i32)
    (local $kk i32) (local $c i32) (local $ky i32) (local $kx i32) (local $plane i32) (local $dst i32)
    (local $oy i32) (local $ox i32) (local $i i32) (local $run i32) (local $iy i32) (local $ix i32)
    (local $src i32) (local $lo i32) (local $hi i32) (local $t i32) (local $d i32) (local $s i32)
    (local.set $x (i32.load offset=0 (global.get $params)))
    (local.set $H (i32.load offset=4 (global.get $params)))
    (local.set $W (i32.load offset=8 (global.get $params)))
    (local.set $KH (i32.load offset=12 (global.get $params)))
    (local.set $KW (i32.load offset=16 (global.get $params)))
    (local.set $st (i32.load offset=20 (global.get $params)))
    (local.set $padH (i32.load offset=24 (global.get $params)))
    (local.set $padW (i32.load offset=28 (global.get $params)))
    (local.set $OW (i32.load offset=32 (global.get $params)))
    (local.set $p (i32.load offset=36 (global.get $params)))
    (local.set $rows (i32.load offset=40 (global.get $params)))
    (local.set $j0 (i32.load offset=44 (global.get $params)))
    (local.set $w (i32.load offset=48 (global.get $params)))
    (local.set $out (i32.load offset=52 (global.get $params)))
    (local.set $kk (i32.mul (local.get $KH) (local.get $KW)))
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.eqz (local.get $rows)))
        (local.set $c (i32.div_u (local.get $p) (local.get $kk)))
        (local.set $ky (i32.div_u (i32.rem_u (local.get $p) (local.get $kk)) (local.get $KW)))
        (local.set $kx (i32.rem_u (local.get $p) (local.get $KW)))
        (local.set $plane (i32.add (local.get $x) (i32.shl (i32.mul (local.get $c) (i32.mul (local.get $H) (local.get $W))) (i32.const 2))))
        (local.set $oy (i32.div_u (local.get $j0) (local.get $OW)))
        (local.set $ox (i32.rem_u (local.get $j0) (local.get $OW)))
        (local.set $dst (local.get $out))
        (local.set $i (i32.const 0))
        (block $idone
          (loop $iloop
            (br_if $idone (i32.ge_u (local.get $i) (local.get $w)))
            ;; run = min(OW-ox, w-i): the output pixels left in this row.
            (local.set $run (i32.sub (local.get $OW) (local.get $ox)))
            (if (i32.gt_u (local.get $run) (i32.sub (local.get $w) (local.get $i)))
              (then (local.set $run (i32.sub (local.get $w) (local.get $i)))))
            (local.set $iy (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $st)) (local.get $padH)) (local.get $ky)))
            (local.set $lo (i32.const 0))
            (local.set $hi (i32.const 0))
            (if (i32.lt_u (local.get $iy) (local.get $H)) ;; unsigned: negative rows fail too
              (then
                (local.set $ix (i32.add (i32.sub (i32.mul (local.get $ox) (local.get $st)) (local.get $padW)) (local.get $kx)))
                ;; Outputs t in [lo, hi) read src[ix + t*st] inside the row.
                (local.set $hi (local.get $run))
                (if (i32.lt_s (local.get $ix) (i32.const 0))
                  (then (local.set $lo (i32.div_u (i32.sub (i32.add (local.get $st) (i32.const -1)) (local.get $ix)) (local.get $st)))))
                (if (i32.le_s (i32.sub (local.get $W) (local.get $ix)) (i32.const 0))
                  (then (local.set $hi (i32.const 0)))
                  (else
                    (local.set $t (i32.div_u (i32.add (i32.sub (local.get $W) (local.get $ix)) (i32.sub (local.get $st) (i32.const 1))) (local.get $st)))
                    (if (i32.lt_u (local.get $t) (local.get $hi)) (then (local.set $hi (local.get $t))))))
                (if (i32.gt_u (local.get $lo) (local.get $hi)) (then (local.set $lo (local.get $hi))))
                (local.set $src (i32.add (i32.add (local.get $plane) (i32.shl (i32.mul (local.get $iy) (local.get $W)) (i32.const 2)))
                                         (i32.shl (i32.add (local.get $ix) (i32.mul (local.get $lo) (local.get $st))) (i32.const 2))))))
            ;; Zeros before lo.
            (local.set $d (local.get $dst))
            (local.set $t (local.get $lo))
            (block $z1done (loop $z1
              (br_if $z1done (i32.eqz (local.get $t)))
              (f32.store (local.get $d) (f32.const 0))
              (local.set $d (i32.add (local.get $d) (i32.const 4)))
              (local.set $t (i32.sub (local.get $t) (i32.const 1)))
              (br $z1)))
            ;; The pixels: 4 at a time when consecutive.
            (local.set $t (i32.sub (local.get $hi) (local.get $lo)))
            (local.set $s (local.get $src))
            (if (i32.eq (local.get $st) (i32.const 1))
              (then
                (block $vdone (loop $v
                  (br_if $vdone (i32.lt_u (local.get $t) (i32.const 4)))
                  (v128.store (local.get $d) (v128.load (local.get $s)))
                  (local.set $d (i32.add (local.get $d) (i32.const 16)))
                  (local.set $s (i32.add (local.get $s) (i32.const 16)))
                  (local.set $t (i32.sub (local.get $t) (i32.const 4)))
                  (br $v)))))
            (block $sdone (loop $sl
              (br_if $sdone (i32.eqz (local.get $t)))
              (i32.store (local.get $d) (i32.load (local.get $s)))
              (local.set $d (i32.add (local.get $d) (i32.const 4)))
              (local.set $s (i32.add (local.get $s) (i32.shl (local.get $st) (i32.const 2))))
              (local.set $t (i32.sub (local.get $t) (i32.const 1)))
              (br $sl)))
            ;; Zeros after hi.
            (local.set $t (i32.sub (local.get $run) (local.get $hi)))
            (block $z2done (loop $z2
              (br_if $z2done (i32.eqz (local.get $t)))
              (f32.store (local.get $d) (f32.const 0))
              (local.set $d (i32.add (local.get $d) (i32.const 4)))
              (local.set $t (i32.sub (local.get $t) (i32.const 1)))
              (br $z2)))
            (local.set $dst (local.get $d))
            (local.set $i (i32.add (local.get $i) (local.get $run)))
            (local.set $ox (i32.const 0))
            (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
            (br $iloop)))
        (local.set $out (i32.add (local.get $out) (i32.shl (local.get $w) (i32.const 2))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $rloop))))
)
