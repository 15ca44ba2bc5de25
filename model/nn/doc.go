// Package nn holds the layers of the network as explicit forward/backward
// pairs over caller-owned buffers, in the style of llm.c: every function
// takes the buffers it reads and writes and allocates nothing, so that a
// planned workspace (model/resnet) can run a training step without garbage.
//
// Layouts follow PyTorch: activations are NCHW, convolution weights OIHW,
// linear weights (out, in). Parameter gradients are accumulated (+=), like
// PyTorch's .grad; input gradients are written unless a function says it
// accumulates. A nil gradient buffer means "not needed": the work for it is
// skipped, which is how frozen layers and the image gradient cost nothing.
package nn
