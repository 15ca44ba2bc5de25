import sys
# spec name:mr:nv:unroll:form:loop:aload
# form: cAdd c=c.Add(b.Mul(a)) | bMul c=b.Mul(a).Add(c) | aMul c=a.Mul(b).Add(c)
# loop: for (counted for loop) | do (single-block do-while loop)
# aload: splat (f32 load + splat) | lane (v128 load of the mr A values, GetElem+splat; mr%4==0)
#        | pre (A packed pre-broadcast: 4 copies of each value, v128 load)
def step(mr, nv, form, aload, u, ind):
    astep = 16*mr if aload == "pre" else 4*mr
    aoff, boff = astep*u, 16*nv*u
    out = []
    for v in range(nv):
        out.append(f"{ind}b{v} := ld4(b, {boff + 16*v})")
    if aload == "lane":
        for q in range(mr//4):
            out.append(f"{ind}av{q} := ld4(a, {aoff + 16*q})")
    for i in range(mr):
        if aload == "splat":
            out.append(f"{ind}a{i} := bc(a, {aoff + 4*i})")
        elif aload == "pre":
            out.append(f"{ind}a{i} := ld4(a, {aoff + 16*i})")
        else:
            out.append(f"{ind}a{i} := archsimd.BroadcastFloat32x4(av{i//4}.GetElem({i%4}))")
        for v in range(nv):
            if form == "cAdd":
                e = f"c{i}{v}.Add(b{v}.Mul(a{i}))"
            elif form == "bMul":
                e = f"b{v}.Mul(a{i}).Add(c{i}{v})"
            else:
                e = f"a{i}.Mul(b{v}).Add(c{i}{v})"
            out.append(f"{ind}c{i}{v} = {e}")
    return out

def gen(name, mr, nv, unroll, form, loop, aload):
    nr = nv*4
    astep = 16*mr if aload == "pre" else 4*mr
    L = []
    L.append(f"func {name}(kc int, a, b, c unsafe.Pointer, ldc int) {{")
    accs = ", ".join(f"c{i}{v}" for i in range(mr) for v in range(nv))
    L.append(f"\tvar {accs} archsimd.Float32x4")
    body = lambda u, ind: ["%s{" % ind] + step(mr, nv, form, aload, u, ind + "\t") + ["%s}" % ind]
    if loop == "one":
        # kc is a positive multiple of unroll (the packing pads it): one loop.
        L.append(f"\tn := kc / {unroll}" if unroll > 1 else "\tn := kc")
        L.append("\tfor {")
        for u in range(unroll):
            L += body(u, "\t\t")
        L.append("\t\tn--")
        L.append("\t\tif n == 0 {")
        L.append("\t\t\tbreak")
        L.append("\t\t}")
        L.append(f"\t\ta = unsafe.Add(a, {astep*unroll})")
        L.append(f"\t\tb = unsafe.Add(b, {4*nr*unroll})")
        L.append("\t}")
    elif loop == "do":
        # kc >= 1 always. The main loop runs while at least unroll steps remain.
        if unroll > 1:
            L.append(f"\tfor n := kc / {unroll}; n > 0; n-- {{" if False else f"\tif n := kc / {unroll}; n > 0 {{")
            L.append("\t\tfor {")
            for u in range(unroll):
                L += body(u, "\t\t\t")
            L.append(f"\t\t\ta = unsafe.Add(a, {astep*unroll})")
            L.append(f"\t\t\tb = unsafe.Add(b, {4*nr*unroll})")
            L.append("\t\t\tn--")
            L.append("\t\t\tif n == 0 {")
            L.append("\t\t\t\tbreak")
            L.append("\t\t\t}")
            L.append("\t\t}")
            L.append("\t}")
            L.append(f"\tfor r := kc % {unroll}; r > 0; r-- {{")
            L += body(0, "\t\t")
            L.append(f"\t\ta = unsafe.Add(a, {astep})")
            L.append(f"\t\tb = unsafe.Add(b, {4*nr})")
            L.append("\t}")
        else:
            L.append("\tn := kc")
            L.append("\tfor {")
            L += body(0, "\t\t")
            L.append("\t\tn--")
            L.append("\t\tif n == 0 {")
            L.append("\t\t\tbreak")
            L.append("\t\t}")
            L.append(f"\t\ta = unsafe.Add(a, {astep})")
            L.append(f"\t\tb = unsafe.Add(b, {4*nr})")
            L.append("\t}")
    else:
        if unroll > 1:
            L.append("\tp := 0")
            L.append(f"\tfor ; p+{unroll} <= kc; p += {unroll} {{")
            for u in range(unroll):
                L += body(u, "\t\t")
            L.append(f"\t\ta = unsafe.Add(a, {astep*unroll})")
            L.append(f"\t\tb = unsafe.Add(b, {4*nr*unroll})")
            L.append("\t}")
            L.append("\tfor ; p < kc; p++ {")
        else:
            L.append("\tfor p := 0; p < kc; p++ {")
        L += body(0, "\t\t")
        L.append(f"\t\ta = unsafe.Add(a, {astep})")
        L.append(f"\t\tb = unsafe.Add(b, {4*nr})")
        L.append("\t}")
    for i in range(mr):
        L.append(f"\tr{i} := unsafe.Add(c, {4*i}*ldc)" if i else "\tr0 := c")
        for v in range(nv):
            L.append(f"\tadd4(unsafe.Add(r{i}, {16*v}), c{i}{v})")
    L.append("}")
    return "\n".join(L)

for spec in sys.argv[1:]:
    f = spec.split(":")
    f += ["for", "splat"][len(f)-5:] if len(f) < 7 else []
    name, mr, nv, unroll, form, loop, aload = f
    print(gen(name, int(mr), int(nv), int(unroll), form, loop, aload))
    print()
