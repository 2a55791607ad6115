namespace CharRnn.Fast.Tests.Reference;

/// <summary>The seeds' clipping and updates, element by element in double precision.</summary>
public static class NaiveOptimizers
{
    /// <summary>np.clip(dparam, −c, c) for every gradient (seeds 000, 003).</summary>
    public static void ClipElementwise(INaiveTensorSet g, double c)
    {
        foreach (var t in g.All) for (int i = 0; i < t.Length; i++) t[i] = Math.Clamp(t[i], -c, c);
    }

    /// <summary>Scale all gradients by c/‖g‖ when the global norm exceeds c.</summary>
    public static void ClipGlobalNorm(INaiveTensorSet g, double c)
    {
        double norm = Math.Sqrt(g.All.Sum(t => t.Sum(x => x * x)));
        if (norm > c) foreach (var t in g.All) for (int i = 0; i < t.Length; i++) t[i] *= c / norm;
    }

    /// <summary>param −= lr · dparam (seeds 001, 002, 003).</summary>
    public static void Sgd(INaiveTensorSet p, INaiveTensorSet g, double lr)
    {
        foreach (var (w, d) in p.All.Zip(g.All)) for (int i = 0; i < w.Length; i++) w[i] -= lr * d[i];
    }

    /// <summary>min-char-rnn: mem += dparam²; param += −lr · dparam / √(mem + 1e-8).</summary>
    public static void Adagrad(INaiveTensorSet p, INaiveTensorSet g, INaiveTensorSet mem, double lr, double eps = 1e-8)
    {
        foreach (var ((w, d), m) in p.All.Zip(g.All).Zip(mem.All))
            for (int i = 0; i < w.Length; i++) { m[i] += d[i] * d[i]; w[i] += -lr * d[i] / Math.Sqrt(m[i] + eps); }
    }

    /// <summary>
    /// char-rnn's RMSprop: optim.rmsprop of torch/optim (rmsprop.lua), which char-rnn's train.lua calls with
    /// alpha = decay_rate (0.95):  m = α·m + (1−α)·g²;  w −= lr · g / (√m + ε), ε = 1e-8 outside the root, m starting
    /// at zero. PyTorch's torch.optim.RMSprop (centered = False, momentum = 0) is the same formula.
    /// </summary>
    public static void RmsProp(INaiveTensorSet p, INaiveTensorSet g, INaiveTensorSet meanSquare, double lr, double alpha = 0.95, double eps = 1e-8)
    {
        foreach (var ((w, d), m) in p.All.Zip(g.All).Zip(meanSquare.All))
            for (int i = 0; i < w.Length; i++) { m[i] = alpha * m[i] + (1 - alpha) * d[i] * d[i]; w[i] -= lr * d[i] / (Math.Sqrt(m[i]) + eps); }
    }

    /// <summary>Seed 000's update_params_adam (bias-corrected), with β1, β2, ε as parameters.</summary>
    public static void Adam(INaiveTensorSet p, INaiveTensorSet g, INaiveTensorSet m, INaiveTensorSet v, int t, double lr, double beta1, double beta2, double eps)
    {
        foreach (var (((w, d), mt), vt) in p.All.Zip(g.All).Zip(m.All).Zip(v.All))
            for (int i = 0; i < w.Length; i++)
            {
                mt[i] = mt[i] * beta1 + (1 - beta1) * d[i];
                vt[i] = vt[i] * beta2 + (1 - beta2) * d[i] * d[i];
                double mHat = mt[i] / (1 - Math.Pow(beta1, t)), vHat = vt[i] / (1 - Math.Pow(beta2, t));
                w[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
    }
}
