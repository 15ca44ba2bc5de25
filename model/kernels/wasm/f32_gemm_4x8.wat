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
        (br $jloop)))))
