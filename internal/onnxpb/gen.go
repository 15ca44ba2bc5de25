// Package onnxpb holds the ONNX protobuf messages (ModelProto, GraphProto,
// NodeProto, TensorProto ...) generated from onnx.proto3 with protoc and
// protoc-gen-go at the google.golang.org/protobuf version go.mod pins.
package onnxpb

//go:generate sh -c "go build -o ${TMPDIR:-/tmp}/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go && protoc --plugin=protoc-gen-go=${TMPDIR:-/tmp}/protoc-gen-go --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto3=github.com/goresnet/goresnet/internal/onnxpb onnx.proto3 && mv onnx.proto3.pb.go onnx.pb.go"
