"""The ensemble trainer's step as of commit 9f37076 (LR-net, CPU), kept verbatim as the
baseline of benchmarks/bench_trainer.py: the same LR-net layer, loss, minibatches, noise and
Adam loop, self-contained so that later changes to maxent.data.train are measured against it.
"""

from __future__ import annotations

import numpy as np
import torch

from maxent.data import _counter_rng as crng
from maxent.data.samples import block_slices

_INIT, _ORDER, _NOISE = 1, 2, 3
_VAR_EPS = 1e-12


class _LRLayer(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, mu, noise, scale):
        a2 = a * a
        mu_s = mu * scale
        var_w = (1.0 - mu * mu).mul_(scale * scale)
        sd = torch.bmm(var_w, a2).add_(_VAR_EPS).sqrt_()
        z = torch.bmm(mu_s, a).addcmul_(sd, noise)
        r = noise.div(sd)
        ctx.save_for_backward(a, a2, mu, mu_s, var_w, r)
        ctx.scale = scale
        return z

    @staticmethod
    def backward(ctx, g):
        a, a2, mu, mu_s, var_w, r = ctx.saved_tensors
        c = ctx.scale
        gr = g * r
        grad_a = grad_mu = None
        if ctx.needs_input_grad[1]:
            grad_mu = torch.bmm(g, a.transpose(1, 2)).mul_(c)
            grad_mu.addcmul_(mu, torch.bmm(gr, a2.transpose(1, 2)), value=-c * c)
        if ctx.needs_input_grad[0]:
            grad_a = torch.bmm(mu_s.transpose(1, 2), g)
            grad_a.addcmul_(a, torch.bmm(var_w.transpose(1, 2), gr))
        return grad_a, grad_mu, None, None


def _batch_loss(params, xb, yb, noise_keys, config):
    R = params.shape[0]
    w = config.widths
    eff = torch.tanh(0.5 * params)
    layers = [
        eff[:, sl].view(R, n_out, n_in)
        for sl, n_in, n_out in zip(block_slices(w).values(), w[:-1], w[1:], strict=True)
    ]
    a = xb
    offset, scale = 0, 1.0
    for layer, W in enumerate(layers):
        n_out = W.shape[1]
        b = a.shape[2]
        noise = crng.normal(noise_keys, (n_out, b), offset=offset * b)
        z = _LRLayer.apply(a, W, noise, float(scale))
        offset += n_out
        if layer < len(layers) - 1:
            a = torch.nn.functional.leaky_relu(z, config.slope)
            scale = 1.0 / float(np.sqrt(W.shape[2]))
    ce = torch.nn.functional.cross_entropy(z, yb, reduction="none")
    return ce.mean(dim=1)


def train_runs(dataset, config, *, run_ids, seed=0):
    """Baseline ``maxent.data.train.train_runs`` (lrnet, CPU): returns the trained parameters (R, N)."""
    assert config.method == "lrnet"
    run_ids = np.asarray(run_ids, dtype=np.int64).reshape(-1)
    keys = crng.run_keys(seed, torch.from_numpy(run_ids))
    N = config.n_weights
    X = torch.tensor(dataset.X_train)
    y = torch.tensor(dataset.y_train)
    P, B = X.shape[0], min(config.batch_size, X.shape[0])
    steps = -(-P // B)
    params = (crng.normal(crng.derive(keys, _INIT), (N,)) * config.init_std).requires_grad_(True)
    m = torch.zeros_like(params)
    v = torch.zeros_like(params)
    b1, b2 = 0.9, 0.999
    k_order, k_noise = crng.derive(keys, _ORDER), crng.derive(keys, _NOISE)
    t, total = 0, config.epochs * steps
    for epoch in range(config.epochs):
        with torch.no_grad():
            perm = torch.argsort(crng.words(crng.derive(k_order, epoch), P), dim=1, stable=True)
        for s in range(steps):
            idx = perm[:, s * B : (s + 1) * B]
            xb = X[idx].transpose(1, 2).contiguous()
            loss = _batch_loss(params, xb, y[idx], crng.derive(k_noise, t), config)
            (grad,) = torch.autograd.grad(loss.sum(), params)
            t += 1
            with torch.no_grad():
                if config.weight_decay:
                    grad = grad.add(params, alpha=config.weight_decay)
                m.mul_(b1).add_(grad, alpha=1 - b1)
                v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
                denom = (v.sqrt() / float(np.sqrt(1 - b2**t))).add_(1e-8)
                if config.lr_schedule == "cosine":
                    lr = config.lr * 0.5 * (1.0 + float(np.cos(np.pi * (t - 1) / total)))
                else:
                    lr = config.lr
                params.addcdiv_(m, denom, value=-lr / (1 - b1**t))
    return params.detach()
