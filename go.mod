module github.com/goresnet/goresnet

go 1.27.3

require github.com/nlpodyssey/safetensors v0.0.0-20250209183917-bfb01cc25f7c // indirect
