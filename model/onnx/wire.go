package onnx

import (
	"encoding/binary"
	"math"
)

// The ONNX messages this package writes, encoded in protobuf's wire
// format by hand: linking google.golang.org/protobuf and the generated
// internal/onnxpb would add ~3.4 MB (~0.66 MB brotli) to worker.wasm, which
// exports ONNX in the browser, against a 4 MB budget for the app and the
// worker together. Fields are written in field-number order, zero scalars
// left out, repeated numbers packed: the bytes proto.Marshal gives for the
// same message (TestWireMatchesProto checks that against onnxpb).

type modelProto struct {
	irVersion    int64       // 1
	producerName string      // 2
	docString    string      // 6
	graph        *graphProto // 7
	opsetVersion int64       // 8: opset_import {domain "" (2: version)}
	metadata     [][2]string // 14: metadata_props {key 1, value 2}
}

type graphProto struct {
	node        []*nodeProto      // 1
	name        string            // 2
	initializer []*tensorProto    // 5
	input       []*valueInfoProto // 11
	output      []*valueInfoProto // 12
}

type nodeProto struct {
	input     []string          // 1
	output    []string          // 2
	name      string            // 3
	opType    string            // 4
	attribute []*attributeProto // 5
}

// Attribute types (AttributeProto.AttributeType).
const (
	attrFloat = 1
	attrInt   = 2
	attrInts  = 7
)

type attributeProto struct {
	name  string  // 1
	f     float32 // 2
	i     int64   // 3
	ints  []int64 // 8
	atype int32   // 20
}

// tensorFloat is TensorProto.DataType FLOAT.
const tensorFloat = 1

type tensorProto struct {
	dims     []int64 // 1
	dataType int32   // 2
	name     string  // 8
	rawData  []byte  // 9
}

// valueInfoProto is a float32 tensor's name and shape: TypeProto
// {tensor_type (1) {elem_type (1), shape (2) {dim (1) {dim_value (1) |
// dim_param (2)}}}}; a negative dimension is the open batch size, "batch".
type valueInfoProto struct {
	name  string // 1
	shape []int  // 2: type
}

// enc appends protobuf fields to a byte slice.
type enc []byte

func (e *enc) varint(v uint64) { *e = binary.AppendUvarint(*e, v) }

func (e *enc) key(num, wire int) { e.varint(uint64(num)<<3 | uint64(wire)) }

func (e *enc) int(num int, v int64) {
	if v != 0 {
		e.key(num, 0)
		e.varint(uint64(v))
	}
}

func (e *enc) bytes(num int, b []byte) {
	if len(b) > 0 {
		e.key(num, 2)
		e.varint(uint64(len(b)))
		*e = append(*e, b...)
	}
}

func (e *enc) str(num int, s string) {
	if s != "" {
		e.key(num, 2)
		e.varint(uint64(len(s)))
		*e = append(*e, s...)
	}
}

// msg writes an embedded message (present even when empty).
func (e *enc) msg(num int, body enc) {
	e.key(num, 2)
	e.varint(uint64(len(body)))
	*e = append(*e, body...)
}

func (e *enc) packed(num int, v []int64) {
	if len(v) == 0 {
		return
	}
	var b enc
	for _, x := range v {
		b.varint(uint64(x))
	}
	e.bytes(num, b)
}

func (m *modelProto) marshal() []byte {
	var e enc
	e.int(1, m.irVersion)
	e.str(2, m.producerName)
	e.str(6, m.docString)
	if m.graph != nil {
		e.msg(7, m.graph.marshal())
	}
	var op enc
	op.int(2, m.opsetVersion)
	e.msg(8, op)
	for _, kv := range m.metadata {
		var b enc
		b.str(1, kv[0])
		b.str(2, kv[1])
		e.msg(14, b)
	}
	return e
}

func (g *graphProto) marshal() enc {
	var e enc
	for _, n := range g.node {
		e.msg(1, n.marshal())
	}
	e.str(2, g.name)
	for _, t := range g.initializer {
		e.msg(5, t.marshal())
	}
	for _, v := range g.input {
		e.msg(11, v.marshal())
	}
	for _, v := range g.output {
		e.msg(12, v.marshal())
	}
	return e
}

func (n *nodeProto) marshal() enc {
	var e enc
	for _, s := range n.input {
		e.key(1, 2)
		e.varint(uint64(len(s)))
		e = append(e, s...)
	}
	for _, s := range n.output {
		e.key(2, 2)
		e.varint(uint64(len(s)))
		e = append(e, s...)
	}
	e.str(3, n.name)
	e.str(4, n.opType)
	for _, a := range n.attribute {
		e.msg(5, a.marshal())
	}
	return e
}

func (a *attributeProto) marshal() enc {
	var e enc
	e.str(1, a.name)
	if bits := math.Float32bits(a.f); bits != 0 {
		e.key(2, 5)
		e = binary.LittleEndian.AppendUint32(e, bits)
	}
	e.int(3, a.i)
	e.packed(8, a.ints)
	e.int(20, int64(a.atype))
	return e
}

func (t *tensorProto) marshal() enc {
	var e enc
	e.packed(1, t.dims)
	e.int(2, int64(t.dataType))
	e.str(8, t.name)
	e.bytes(9, t.rawData)
	return e
}

func (v *valueInfoProto) marshal() enc {
	var shape enc
	for _, d := range v.shape {
		var dim enc
		if d < 0 {
			dim.str(2, "batch")
		} else {
			// A oneof member is written even when zero.
			dim.key(1, 0)
			dim.varint(uint64(d))
		}
		shape.msg(1, dim)
	}
	var tensor enc
	tensor.int(1, tensorFloat)
	tensor.msg(2, shape)
	var typ enc
	typ.msg(1, tensor)
	var e enc
	e.str(1, v.name)
	e.msg(2, typ)
	return e
}
