"""Batch normalization whose training step is one fused TensorFlow op on image tensors.

Keras 3's `BatchNormalization` computes in float32 with separate ops (a cast up, the moments, the
normalization, a cast back, and the gradient of each): on a CPU that is a dozen passes over every
convolution's output, memory-bound, and bfloat16 speeds none of them up. On the reference model
they cost more than the bf16 convolutions themselves (ONEDNN_VERBOSE on the 2-core Zen 4 box: the
oneDNN kernels were 1.38 s of a 1.9 s bf16 step). TensorFlow's `FusedBatchNormV3` does the same
arithmetic in one pass forward and one backward, reading bf16 directly (statistics in float32).

`FusedBatchNormalization` is Keras' layer with that op on the TensorFlow backend when it trains on a
4-D channels-last tensor; everything else (inference, other backends, masks, renorm, another axis)
is Keras' own code, so JAX runs, saved models' weights and the exports are unchanged. The moving
statistics follow Keras' rule exactly: TensorFlow's op returns the batch variance with Bessel's
correction, which is undone here.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="zoo")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` with a fused training step on TensorFlow (same weights, same results)."""

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        # inputs: batch x height x width x channels (bf16 or f32); gamma, beta and the statistics: float32
        outputs, mean, corrected_variance, *_ = tf.raw_ops.FusedBatchNormV3(
            x=inputs, scale=self.gamma, offset=self.beta, mean=tf.zeros_like(self.gamma),
            variance=tf.zeros_like(self.gamma), epsilon=self.epsilon, exponential_avg_factor=1.0,
            data_format="NHWC", is_training=True)
        count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:-1]), "float32")  # values per channel
        variance = corrected_variance * (count - 1.0) / count  # the biased variance Keras' moments give
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return outputs  # batch x height x width x channels, in the input's dtype

    def _fusable(self, inputs, training, mask) -> bool:
        return (keras.backend.backend() == "tensorflow" and bool(training) and self.trainable and mask is None
                and len(inputs.shape) == 4 and self.axis in (-1, 3) and self.scale and self.center
                and not self.renorm and not self.synchronized
                and keras.backend.standardize_dtype(inputs.dtype) in ("float32", "bfloat16"))
