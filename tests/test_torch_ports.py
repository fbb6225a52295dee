"""Small PyTorch training programs written as tutorials write them, run in torch and ported to npgrad the way a
user would (``torch`` -> ``npgrad``, ``torch.nn`` -> ``npgrad.nn``...), from the same initial weights (copied
through ``state_dict``) on the same data: losses and final parameters must agree, in float64 tightly and in
float32. Each program is written once against a module ``lib`` (``torch`` or ``npgrad``); an ``if lib is npg``
marks what a user had to change (each such change is a documented NumPy-meaning difference: README "Coming
from PyTorch")."""
import math
import os

import numpy as np
import pytest

import npgrad as npg
from tests.helpers import torch_or_stand_in

torch = torch_or_stand_in()

DTYPES = [(np.float64, 1e-8), (np.float32, 5e-4)]


def _sd(model):
    """A model's state dict as NumPy arrays (torch's or npgrad's)."""
    return {k: np.array(v.detach().numpy() if hasattr(v, "detach") and not isinstance(v, np.ndarray) else v)
            for k, v in model.state_dict().items()}


def _same_state(n_model, t_model, tol, skip=lambda key, a: a):
    a, b = _sd(n_model), _sd(t_model)
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype, (k, a[k].dtype, b[k].dtype)
        np.testing.assert_allclose(skip(k, a[k]), skip(k, b[k]), rtol=tol, atol=tol, err_msg=k)


@pytest.fixture
def default_dtype(request):
    """Both libraries' default dtype set to the test's, restored afterwards."""
    old_t, old_n = torch.get_default_dtype(), npg.get_default_dtype()
    dtype = request.param
    torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)
    npg.set_default_dtype(dtype)
    yield dtype
    torch.set_default_dtype(old_t)
    npg.set_default_dtype(old_n)


def _ported(build, *args):
    """The torch model and its npgrad port holding the same weights."""
    torch.manual_seed(0)
    t_model, n_model = build(torch, *args), build(npg, *args)
    n_model.load_state_dict({k: v.detach().numpy() for k, v in t_model.state_dict().items()})
    return t_model, n_model


# ------------------------------------------------------------------------------------------------ (1) VAE
def _vae(lib):
    N = lib.nn

    class VAE(N.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc_mu, self.fc_lv = N.Linear(20, 16), N.Linear(16, 4), N.Linear(16, 4)
            self.fc3, self.fc4 = N.Linear(4, 16), N.Linear(16, 20)

        def forward(self, x, eps):
            h = lib.relu(self.fc1(x))
            mu, logvar = self.fc_mu(h), self.fc_lv(h)
            z = mu + eps * lib.exp(0.5 * logvar)      # reparameterization (eps: torch.randn_like(std))
            return self.fc4(lib.relu(self.fc3(z))), mu, logvar
    return VAE()


def _train_vae(lib, model, X, E):
    opt = lib.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for x, e in zip(X, E):
        x = lib.tensor(x)
        logits, mu, logvar = model(x, lib.tensor(e))
        bce = lib.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kld = -0.5 * lib.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = (bce + kld) / x.shape[0]
        opt.zero_grad(); loss.backward(); opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("default_dtype,tol", DTYPES, indirect=["default_dtype"])
def test_vae(default_dtype, tol):
    rng = np.random.default_rng(0)
    X = (rng.random((4, 8, 20)) > 0.5).astype(default_dtype)
    E = rng.standard_normal((4, 8, 4)).astype(default_dtype)
    t_model, n_model = _ported(_vae)
    np.testing.assert_allclose(_train_vae(npg, n_model, X, E), _train_vae(torch, t_model, X, E), rtol=tol)
    _same_state(n_model, t_model, tol)


# ------------------------------------------------------------------------------------------------ (2) DCGAN
def _dcgan(lib):
    N = lib.nn
    G = N.Sequential(N.ConvTranspose2d(4, 8, 4, 1, 0, bias=False), N.BatchNorm2d(8), N.ReLU(True),
                     N.ConvTranspose2d(8, 1, 4, 2, 1, bias=False), N.Tanh())
    D = N.Sequential(N.Conv2d(1, 8, 4, 2, 1, bias=False), N.LeakyReLU(0.2, inplace=True),
                     N.Conv2d(8, 8, 3, 1, 1, bias=False), N.BatchNorm2d(8), N.LeakyReLU(0.2, inplace=True),
                     N.Flatten(), N.Linear(8 * 4 * 4, 1))
    return N.ModuleDict({"G": G, "D": D})


def _train_gan(lib, gan, data, noise):
    G, D = gan["G"], gan["D"]
    crit = lib.nn.BCEWithLogitsLoss()
    optD = lib.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
    optG = lib.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
    losses = []
    for real, z in zip(data, noise):
        real, z = lib.tensor(real), lib.tensor(z)
        ones, zeros = lib.full((real.shape[0], 1), 1.0), lib.full((real.shape[0], 1), 0.0)
        D.zero_grad()
        err_real = crit(D(real), ones); err_real.backward()
        fake = G(z)
        err_fake = crit(D(fake.detach()), zeros); err_fake.backward()
        optD.step()
        G.zero_grad()
        err_g = crit(D(fake), ones); err_g.backward(); optG.step()
        losses.append((err_real.item() + err_fake.item(), err_g.item()))
    return losses


@pytest.mark.parametrize("default_dtype,tol", DTYPES, indirect=["default_dtype"])
def test_dcgan(default_dtype, tol):
    rng = np.random.default_rng(1)
    data = np.tanh(rng.standard_normal((3, 6, 1, 8, 8))).astype(default_dtype)
    noise = rng.standard_normal((3, 6, 4, 1, 1)).astype(default_dtype)
    t_gan, n_gan = _ported(_dcgan)
    np.testing.assert_allclose(_train_gan(npg, n_gan, data, noise), _train_gan(torch, t_gan, data, noise), rtol=tol)
    _same_state(n_gan, t_gan, tol)


# ------------------------------------------------- (3) seq2seq GRU, dot attention, partial teacher forcing
def _seq2seq(lib, V=7, H=6):
    N = lib.nn
    F = N.functional

    class Encoder(N.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.gru = N.Embedding(V, H), N.GRU(H, H, batch_first=True)

        def forward(self, x):
            return self.gru(self.emb(x))

    class Decoder(N.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.attn = N.Embedding(V, H), N.Linear(H, H)
            self.gru, self.out = N.GRU(2 * H, H, batch_first=True), N.Linear(H, V)

        def forward(self, enc_out, h, tgt):
            outputs, inp = [], tgt[:, :1]
            for t in range(tgt.shape[1]):
                scores = lib.bmm(enc_out, self.attn(h[-1]).unsqueeze(2)).squeeze(2)         # (B, S)
                context = lib.bmm(F.softmax(scores, dim=1).unsqueeze(1), enc_out)           # (B, 1, H)
                o, h = self.gru(lib.cat((self.emb(inp), context), dim=2), h)
                logits = self.out(o.squeeze(1))
                outputs.append(logits)
                if t + 1 < tgt.shape[1]:                   # teacher forcing on even steps, else greedy
                    inp = tgt[:, t + 1:t + 2] if t % 2 == 0 else logits.argmax(dim=1, keepdim=True).detach()
            return lib.stack(outputs, dim=1)
    return N.ModuleDict({"enc": Encoder(), "dec": Decoder()})


def _train_seq2seq(lib, model, src, tgt):
    opt = lib.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    crit = lib.nn.CrossEntropyLoss()
    losses = []
    for s, t in zip(src, tgt):
        s, t = lib.tensor(s), lib.tensor(t)
        enc_out, h = model["enc"](s)
        loss = crit(model["dec"](enc_out, h, t).reshape(-1, 7), t.reshape(-1))
        opt.zero_grad(); loss.backward(); opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("default_dtype,tol", DTYPES, indirect=["default_dtype"])
def test_seq2seq_gru_attention(default_dtype, tol):
    rng = np.random.default_rng(7)
    src, tgt = rng.integers(0, 7, (3, 4, 5)), rng.integers(0, 7, (3, 4, 4))
    t_model, n_model = _ported(_seq2seq)
    np.testing.assert_allclose(_train_seq2seq(npg, n_model, src, tgt), _train_seq2seq(torch, t_model, src, tgt),
                               rtol=tol)
    _same_state(n_model, t_model, tol)


# ------------------------------------------------------------------------ (4) Transformer language model
def _transformer_lm(lib, V=11, d=8, pad=0):
    N = lib.nn

    class PositionalEncoding(N.Module):
        def __init__(self, d, max_len=32):
            super().__init__()
            position = lib.arange(max_len).unsqueeze(1)
            div_term = lib.exp(lib.arange(0, d, 2) * (-math.log(10000.0) / d))
            # npgrad: float tensors require grad by default, and a leaf that does cannot be written in place
            pe = lib.zeros(max_len, 1, d) if lib is torch else lib.zeros(max_len, 1, d, requires_grad=False)
            pe[:, 0, 0::2] = lib.sin(position * div_term)
            pe[:, 0, 1::2] = lib.cos(position * div_term)
            self.register_buffer("pe", pe)

        def forward(self, x):
            return x + self.pe[:x.shape[0]]               # torch code often writes x.size(0)

    class LM(N.Module):
        def __init__(self):
            super().__init__()
            self.d = d
            self.encoder = N.Embedding(V, d, padding_idx=pad)
            self.pos = PositionalEncoding(d)
            layer = N.TransformerEncoderLayer(d, 2, 16, dropout=0.0)
            self.transformer = N.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.decoder = N.Linear(d, V)
            self.decoder.weight = self.encoder.weight     # tied weights

        def forward(self, src, mask):
            x = self.pos(self.encoder(src) * math.sqrt(self.d))
            return self.decoder(self.transformer(x, mask))
    return LM()


def _train_lm(lib, model, data):
    N = lib.nn
    crit = N.CrossEntropyLoss(label_smoothing=0.1, ignore_index=0)
    opt = lib.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.01)
    sched = lib.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / 3))   # warmup
    losses = []
    model.train()
    for batch in data:
        x = lib.tensor(batch)                              # (S + 1, B)
        src, tgt = x[:-1], x[1:]
        mask = N.Transformer.generate_square_subsequent_mask(src.shape[0])
        loss = crit(model(src, mask).view(-1, 11), tgt.reshape(-1))
        opt.zero_grad(); loss.backward()
        N.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step(); sched.step()
        losses.append(loss.item())
    return losses


def _without_key_bias(key, a):
    """A self-attention's key bias has a zero gradient (softmax ignores a constant per query): Adam turns its
    rounding noise into lr-sized steps in float32, in torch as in npgrad; its other parameters are compared."""
    return np.concatenate([a[:8], a[16:]]) if key.endswith("in_proj_bias") else a


@pytest.mark.parametrize("default_dtype,tol", DTYPES, indirect=["default_dtype"])
def test_transformer_language_model(default_dtype, tol):
    data = np.random.default_rng(2).integers(0, 11, (4, 7, 3))
    t_model, n_model = _ported(_transformer_lm)
    np.testing.assert_allclose(_train_lm(npg, n_model, data), _train_lm(torch, t_model, data), rtol=tol)
    assert n_model.decoder.weight is n_model.encoder.weight
    _same_state(n_model, t_model, tol, _without_key_bias if default_dtype == np.float32 else lambda k, a: a)


# ------------------------------------------------------------------ (5) char-RNN LSTM, packed sequences
def _char_rnn(lib, V=9, E=5, H=6):
    N = lib.nn

    class CharRNN(N.Module):
        def __init__(self):
            super().__init__()
            self.emb = N.Embedding(V, E, padding_idx=0)
            self.lstm = N.LSTM(E, H, num_layers=2, batch_first=True)
            self.fc = N.Linear(H, V)

        def forward(self, x, lengths, hidden=None):
            packed = N.utils.rnn.pack_padded_sequence(self.emb(x), lengths, batch_first=True, enforce_sorted=False)
            out, hidden = self.lstm(packed, hidden)
            out, _ = N.utils.rnn.pad_packed_sequence(out, batch_first=True)
            return self.fc(out), hidden
    return CharRNN()


def _train_char_rnn(lib, model, X, Y, lengths):
    crit = lib.nn.CrossEntropyLoss(ignore_index=0)
    opt = lib.optim.RMSprop(model.parameters(), lr=1e-2)
    losses = []
    for x, y in zip(X, Y):
        x, y = lib.tensor(x), lib.tensor(y)
        logits, (h, c) = model(x, lengths)
        loss = crit(logits.reshape(-1, 9), y[:, :logits.shape[1]].reshape(-1))
        opt.zero_grad(); loss.backward()
        lib.nn.utils.clip_grad_value_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    with lib.no_grad():                                    # sampling from a given state
        h0 = (lib.zeros(2, 1, 6), lib.zeros(2, 1, 6))
        logits, _ = model(lib.tensor(X[0][:1]), [int(lengths[0])], h0)
    return losses, logits.numpy()


@pytest.mark.parametrize("default_dtype,tol", DTYPES, indirect=["default_dtype"])
def test_char_rnn_lstm_packed(default_dtype, tol):
    rng = np.random.default_rng(3)
    lengths = np.array([6, 3, 5, 2])
    X, Y = rng.integers(1, 9, (3, 4, 6)), rng.integers(1, 9, (3, 4, 6))
    for b, n in enumerate(lengths):
        X[:, b, n:] = Y[:, b, n:] = 0
    t_model, n_model = _ported(_char_rnn)
    (t_losses, t_out), (n_losses, n_out) = (_train_char_rnn(lib, m, X, Y, lengths)
                                            for lib, m in ((torch, t_model), (npg, n_model)))
    np.testing.assert_allclose(n_losses, t_losses, rtol=tol)
    np.testing.assert_allclose(n_out, t_out, rtol=tol, atol=tol)
    _same_state(n_model, t_model, tol)


# ------------------------------------------------- (6) ResNet-like CNN, checkpoint round trip mid-training
def _resnet(lib):
    N = lib.nn
    F = N.functional

    class Block(N.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1, self.bn1 = N.Conv2d(cin, cout, 3, stride, 1, bias=False), N.BatchNorm2d(cout)
            self.conv2, self.bn2 = N.Conv2d(cout, cout, 3, 1, 1, bias=False), N.BatchNorm2d(cout)
            self.shortcut = N.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = N.Sequential(N.Conv2d(cin, cout, 1, stride, bias=False), N.BatchNorm2d(cout))

        def forward(self, x):
            out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
            out += self.shortcut(x)
            return F.relu(out)

    class Net(N.Module):
        def __init__(self):
            super().__init__()
            self.stem = N.Sequential(N.Conv2d(3, 4, 3, padding=1, bias=False), N.BatchNorm2d(4), N.ReLU(inplace=True))
            self.layer1, self.layer2 = Block(4, 4, 1), Block(4, 8, 2)
            self.pool, self.drop, self.fc = N.AdaptiveAvgPool2d((1, 1)), N.Dropout(0.3), N.Linear(8, 5)

        def forward(self, x):
            x = lib.flatten(self.pool(self.layer2(self.layer1(self.stem(x)))), 1)
            return self.fc(self.drop(x))
    return Net()


def _resnet_run(lib, sd, X, Y, path):
    def make():
        model = _resnet(lib)
        model.drop.p = 0.0                                 # the two libraries draw different masks
        opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
        return model, opt, lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6)

    def train_step(model, opt, sched, x, y):
        model.train()
        loss = lib.nn.functional.cross_entropy(model(lib.tensor(x)), lib.tensor(y))
        opt.zero_grad(); loss.backward(); opt.step(); sched.step()
        return loss.item()

    def evaluate(model):
        model.eval()
        with lib.no_grad():
            return model(lib.tensor(X[-1])).numpy().copy()

    model, opt, sched = make()
    model.load_state_dict(sd)
    losses = [train_step(model, opt, sched, X[i], Y[i]) for i in range(2)]
    outs = [evaluate(model)]
    lib.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}, path)
    ckpt = lib.load(path)
    model, opt, sched = make()
    model.load_state_dict(ckpt["model"]); opt.load_state_dict(ckpt["opt"]); sched.load_state_dict(ckpt["sched"])
    losses += [train_step(model, opt, sched, X[i], Y[i]) for i in range(2, 4)]
    outs.append(evaluate(model))
    return losses, outs, model, opt.param_groups[0]["lr"]


@pytest.mark.parametrize("default_dtype,tol", DTYPES, indirect=["default_dtype"])
def test_resnet_checkpoint_round_trip(default_dtype, tol, tmp_path):
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((4, 6, 3, 8, 8)).astype(default_dtype), rng.integers(0, 5, (4, 6))
    torch.manual_seed(0)
    sd = {k: v.detach().numpy() for k, v in _resnet(torch).state_dict().items()}
    t_losses, t_outs, t_model, t_lr = _resnet_run(torch, {k: torch.tensor(v) for k, v in sd.items()}, X, Y,
                                                  os.path.join(tmp_path, "ckpt.pt"))
    n_losses, n_outs, n_model, n_lr = _resnet_run(npg, sd, X, Y, os.path.join(tmp_path, "ckpt.npz"))
    np.testing.assert_allclose(n_losses, t_losses, rtol=tol)
    for n_out, t_out in zip(n_outs, t_outs):
        np.testing.assert_allclose(n_out, t_out, rtol=tol, atol=tol)
    _same_state(n_model, t_model, tol)
    assert n_lr == t_lr


# ------------------------------------------------------------------------ (7) PINN (Burgers), Adam + LBFGS
def _pinn(lib):
    N = lib.nn
    return N.Sequential(N.Linear(2, 12), N.Tanh(), N.Linear(12, 12), N.Tanh(), N.Linear(12, 1))


def _pinn_loss(lib, model, pts, bc, bcv):
    xt = lib.tensor(pts).requires_grad_(True)
    u = model(xt)
    du = lib.autograd.grad(u, xt, grad_outputs=lib.ones_like(u), create_graph=True)[0]
    u_x, u_t = du[:, 0:1], du[:, 1:2]
    u_xx = lib.autograd.grad(u_x, xt, grad_outputs=lib.ones_like(u_x), create_graph=True)[0][:, 0:1]
    residual = u_t + u * u_x - 0.01 / math.pi * u_xx
    return (residual ** 2).mean() + lib.nn.functional.mse_loss(model(lib.tensor(bc)), lib.tensor(bcv))


def _train_pinn(lib, model, pts, bc, bcv):
    opt = lib.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(4):
        loss = _pinn_loss(lib, model, pts, bc, bcv)
        opt.zero_grad(); loss.backward(); opt.step()
        losses.append(loss.item())
    lbfgs = lib.optim.LBFGS(model.parameters(), lr=0.5, max_iter=5, history_size=5, line_search_fn="strong_wolfe")

    def closure():
        lbfgs.zero_grad()
        loss = _pinn_loss(lib, model, pts, bc, bcv)
        loss.backward()
        return loss
    losses.append(lbfgs.step(closure).item())
    return losses


@pytest.mark.parametrize("default_dtype,tol", [(np.float64, 1e-8), (np.float32, 2e-3)], indirect=["default_dtype"])
def test_pinn_second_derivatives(default_dtype, tol):
    rng = np.random.default_rng(5)
    pts = rng.uniform(-1, 1, (16, 2)).astype(default_dtype)
    bc = np.stack([rng.uniform(-1, 1, 6), np.zeros(6)], 1).astype(default_dtype)
    bcv = -np.sin(np.pi * bc[:, :1])
    t_model, n_model = _ported(_pinn)
    np.testing.assert_allclose(_train_pinn(npg, n_model, pts, bc, bcv), _train_pinn(torch, t_model, pts, bc, bcv),
                               rtol=tol)
    _same_state(n_model, t_model, tol)


# ---------------------------------------------------------------- (8) MAML: second order, functional_call
def _maml_net(lib):
    N = lib.nn
    return N.Sequential(N.Linear(1, 16), N.ReLU(), N.Linear(16, 16), N.ReLU(), N.Linear(16, 1))


def _train_maml(lib, model, tasks, inner_lr=0.05):
    call, F = lib.func.functional_call, lib.nn.functional
    meta_opt = lib.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for batch in tasks:
        meta_opt.zero_grad()
        total = 0.0
        for xs, ys, xq, yq in batch:
            xs, ys, xq, yq = map(lib.tensor, (xs, ys, xq, yq))
            params = dict(model.named_parameters())
            for _ in range(2):                             # inner steps, differentiated through
                grads = lib.autograd.grad(F.mse_loss(call(model, params, (xs,)), ys), list(params.values()),
                                          create_graph=True)
                params = {k: v - inner_lr * g for (k, v), g in zip(params.items(), grads)}
            total = total + F.mse_loss(call(model, params, (xq,)), yq)
        meta = total / len(batch)
        meta.backward(); meta_opt.step()
        losses.append(meta.item())

    def loss_fn(p, x, y):                                  # torch.func style
        return F.mse_loss(call(model, p, (x,)), y)
    xs, ys = map(lib.tensor, tasks[0][0][:2])
    grads = lib.func.grad(loss_fn)({k: v.detach() for k, v in model.named_parameters()}, xs, ys)
    return losses, {k: np.asarray(g.detach().numpy()) for k, g in grads.items()}


@pytest.mark.parametrize("default_dtype,tol", [(np.float64, 1e-8), (np.float32, 1e-3)], indirect=["default_dtype"])
def test_maml_second_order(default_dtype, tol):
    rng = np.random.default_rng(6)

    def task():
        a, phase = rng.uniform(0.5, 2), rng.uniform(0, np.pi)
        xs, xq = rng.uniform(-3, 3, (5, 1)), rng.uniform(-3, 3, (5, 1))
        return tuple(v.astype(default_dtype) for v in (xs, a * np.sin(xs + phase), xq, a * np.sin(xq + phase)))
    tasks = [[task() for _ in range(2)] for _ in range(3)]
    t_model, n_model = _ported(_maml_net)
    (t_losses, t_grads), (n_losses, n_grads) = (_train_maml(lib, m, tasks)
                                                for lib, m in ((torch, t_model), (npg, n_model)))
    np.testing.assert_allclose(n_losses, t_losses, rtol=tol)
    _same_state(n_model, t_model, tol)
    for k in t_grads:
        np.testing.assert_allclose(n_grads[k], t_grads[k], rtol=tol, atol=tol, err_msg=k)


# ------------------------------------------- (9) gradient accumulation, OneCycleLR, no_grad evaluation
def _mlp(lib):
    N = lib.nn
    return N.Sequential(N.Linear(6, 10), N.GELU(), N.LayerNorm(10), N.Linear(10, 3), N.LogSoftmax(dim=1))


def _train_accumulating(lib, model, X, Y, accum=3):
    F = lib.nn.functional
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.3, total_steps=4)
    model.train()
    opt.zero_grad()
    for i in range(12):
        loss = F.nll_loss(model(lib.tensor(X[i])), lib.tensor(Y[i])) / accum
        loss.backward()
        if (i + 1) % accum == 0:
            opt.step(); sched.step(); opt.zero_grad(set_to_none=True)
    model.eval()
    test_loss, correct = 0.0, 0
    with lib.no_grad():
        for i in range(12, 14):
            data, target = lib.tensor(X[i]), lib.tensor(Y[i])
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    return test_loss, correct, output.detach().cpu().numpy()


@pytest.mark.parametrize("default_dtype,tol", DTYPES, indirect=["default_dtype"])
def test_gradient_accumulation_and_evaluation(default_dtype, tol):
    rng = np.random.default_rng(8)
    X, Y = rng.standard_normal((14, 5, 6)).astype(default_dtype), rng.integers(0, 3, (14, 5))
    t_model, n_model = _ported(_mlp)
    (t_loss, t_correct, t_out), (n_loss, n_correct, n_out) = (_train_accumulating(lib, m, X, Y)
                                                              for lib, m in ((torch, t_model), (npg, n_model)))
    np.testing.assert_allclose(n_loss, t_loss, rtol=tol)
    assert n_correct == t_correct
    np.testing.assert_allclose(n_out, t_out, rtol=tol, atol=tol)
    _same_state(n_model, t_model, tol)


# ---------------------------------------------------------------- the PyTorch names the ports above needed
def test_comparison_and_device_methods_match_torch():
    """``pred.eq(target.view_as(pred)).sum().item()`` (the MNIST tutorial's accuracy) and ``.cpu().numpy()``."""
    a, b = np.array([[1.0, 2.0, 3.0], [4.0, 0.0, -1.0]]), np.array([[1.0, 0.0, 5.0], [4.0, 0.0, 2.0]])
    ta, tb, na, nb = torch.tensor(a), torch.tensor(b), npg.tensor(a), npg.tensor(b)
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        for other_t, other_n in ((tb, nb), (2.0, 2.0)):
            got, want = getattr(na, name)(other_n), getattr(ta, name)(other_t)
            assert got.dtype == np.bool_ and not got.requires_grad, name
            np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=name)
    assert na.cpu() is na
    np.testing.assert_array_equal(na.detach().cpu().numpy(), ta.detach().cpu().numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bmm_mm_match_torch_values_and_gradients(dtype):
    rng = np.random.default_rng(0)
    for fname, sa, sb in (("bmm", (2, 3, 4), (2, 4, 5)), ("mm", (3, 4), (4, 5))):
        a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
        g = rng.standard_normal(sa[:-1] + sb[-1:]).astype(dtype)
        tol = 1e-5 if dtype == np.float32 else 1e-12
        for how in ("function", "method"):
            ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
            na, nb = npg.tensor(a), npg.tensor(b)
            tout = getattr(torch, fname)(ta, tb) if how == "function" else getattr(ta, fname)(tb)
            nout = getattr(npg, fname)(na, nb) if how == "function" else getattr(na, fname)(nb)
            tout.backward(torch.tensor(g)); nout.backward(g)
            assert nout.dtype == dtype
            np.testing.assert_allclose(nout.numpy(), tout.detach().numpy(), rtol=tol, atol=tol)
            np.testing.assert_allclose(na.grad, ta.grad.numpy(), rtol=tol, atol=tol)
            np.testing.assert_allclose(nb.grad, tb.grad.numpy(), rtol=tol, atol=tol)


def test_bmm_mm_refuse_what_torch_refuses_naming_the_op_and_shapes():
    for fname, a, b in (("bmm", (3, 4), (4, 5)), ("bmm", (2, 3, 4), (3, 4, 5)), ("bmm", (2, 3, 4), (2, 5, 6)),
                        ("mm", (2, 3, 4), (4, 5)), ("mm", (3, 4), (5, 6)), ("mm", (3,), (3,))):
        with pytest.raises(RuntimeError):
            getattr(torch, fname)(torch.zeros(a), torch.zeros(b))
        with pytest.raises(RuntimeError, match=fname) as info:
            getattr(npg, fname)(npg.zeros(a), npg.zeros(b))
        assert str(a) in str(info.value) and str(b) in str(info.value)


def test_stack_takes_torchs_dim_keyword():
    """``torch.stack(outputs, dim=1)`` (a decoder loop's per-step outputs); ``axis=`` stays NumPy's."""
    xs = [np.arange(6.0).reshape(2, 3) + i for i in range(4)]
    for dim in (0, 1, 2, -1):
        want = torch.stack([torch.tensor(x) for x in xs], dim=dim)
        got = npg.stack([npg.tensor(x) for x in xs], dim=dim)
        assert got.shape == tuple(want.shape)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(TypeError, match="stack"):
        npg.stack(xs, axis=0, dim=0)
    for name in ("concatenate", "concat"):
        want = torch.cat([torch.tensor(x) for x in xs], dim=-1)
        np.testing.assert_array_equal(getattr(npg, name)([npg.tensor(x) for x in xs], dim=-1).numpy(), want.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_randn_like_rand_like_and_manual_seed(dtype):
    """A VAE's ``eps = torch.randn_like(std)`` after ``torch.manual_seed(0)``: the shape and dtype of the input
    (torch's), standard normal / uniform [0, 1) draws, repeatable under the same seed."""
    std = np.ones((400, 50), dtype)
    for name in ("randn_like", "rand_like"):
        want = getattr(torch, name)(torch.tensor(std))
        npg.manual_seed(0)
        got = getattr(npg, name)(npg.tensor(std))
        assert got.shape == tuple(want.shape) and got.dtype == dtype
        npg.manual_seed(0)
        np.testing.assert_array_equal(getattr(npg, name)(npg.tensor(std)).numpy(), got.numpy())
        mean, var = (0.0, 1.0) if name == "randn_like" else (0.5, 1 / 12)
        assert abs(got.numpy().mean() - mean) < 0.02 and abs(got.numpy().var() - var) < 0.03 * var / 0.083
        if name == "rand_like":
            assert got.numpy().min() >= 0 and got.numpy().max() < 1
    assert npg.randn_like(npg.tensor(std), dtype=np.float64).dtype == np.float64
    with pytest.raises(NotImplementedError):
        torch.randn_like(torch.tensor([1, 2]))
    with pytest.raises(TypeError, match="randn_like.*int64"):     # not a silent integer cast of the draws
        npg.randn_like(npg.tensor([1, 2]))
