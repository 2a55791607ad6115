using CharRnn.Fast.Model;

namespace CharRnn.Fast.Training;

/// <summary>The optimizers: SGD, Adagrad (min-char-rnn's), Adam (bias-corrected), RMSprop (char-rnn's).</summary>
public enum OptimizerKind
{
    Sgd,
    Adagrad,
    Adam,
    RmsProp,
}

/// <summary>Hyper-parameters of training. Defaults follow min-char-rnn (T = 25, Adagrad, lr 0.1, clip ±5).</summary>
public sealed record TrainingOptions
{
    /// <summary>T: characters per truncated-BPTT chunk.</summary>
    public int SequenceLength { get; init; } = 25;

    /// <summary>B: parallel streams (the text is cut into B contiguous shards).</summary>
    public int BatchSize { get; init; } = 1;

    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adagrad;
    public double LearningRate { get; init; } = 0.1;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Epsilon { get; init; } = 1e-8;

    /// <summary>RMSprop's decay of the mean square, α (char-rnn's decay_rate, default 0.95).</summary>
    public double Alpha { get; init; } = 0.95;

    /// <summary>Element-wise clipping of every gradient to [−c, c] (the seeds' np.clip); 0 = off.</summary>
    public double ClipValue { get; init; } = 5;

    /// <summary>Global-norm clipping: scale the whole gradient to norm ≤ c; 0 = off. Applied after element-wise clipping.</summary>
    public double ClipNorm { get; init; }

    /// <summary>lr_k = lr · decay^⌊k / every⌋; 1 = no decay.</summary>
    public double LearningRateDecay { get; init; } = 1;
    public int DecayEvery { get; init; } = 1000;

    public InitScheme WeightInit { get; init; } = new(InitKind.Normal, 0.01);
    public InitScheme BiasInit { get; init; } = new(InitKind.Zero, 0);

    /// <summary>An LSTM's forget-gate bias at initialisation (torch-rnn uses 1); 0 leaves <see cref="BiasInit"/>'s draw.</summary>
    public double ForgetBias { get; init; }

    public ulong Seed { get; init; } = 1;

    /// <summary>
    /// Dropout probability on the output of every layer but the last, while training (PyTorch's <c>dropout</c>); masks
    /// are drawn from <see cref="Seed"/> and the step count, so a resumed run draws the same ones.
    /// </summary>
    public double Dropout { get; init; }

    /// <summary>
    /// Threads for training: the batch's streams are split among them (data parallel), each with its own workspace and
    /// gradient, summed in a fixed order — results depend on the thread count, never on timing; capped at B. At B = 1
    /// the recurrences are split by columns of Whh instead (H ≥ 256, stream mode), with results identical to one thread.
    /// </summary>
    public int Threads { get; init; } = 1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (SequenceLength is < 1 or > 100_000) throw new ArgumentException($"sequence length must be in 1..100000 (got {SequenceLength})");
        if (BatchSize is < 1 or > 100_000) throw new ArgumentException($"batch size must be in 1..100000 (got {BatchSize})");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentException($"learning rate must be a positive number (got {LearningRate})");
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new ArgumentException($"beta1 must be in [0, 1) (got {Beta1})");
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new ArgumentException($"beta2 must be in [0, 1) (got {Beta2})");
        if (!(Alpha >= 0 && Alpha < 1)) throw new ArgumentException($"alpha must be in [0, 1) (got {Alpha})");
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentException($"dropout must be in [0, 1) (got {Dropout})");
        if (!(Epsilon > 0)) throw new ArgumentException($"epsilon must be positive (got {Epsilon})");
        if (!(ClipValue >= 0)) throw new ArgumentException($"clip must be ≥ 0 (got {ClipValue})");
        if (!(ClipNorm >= 0)) throw new ArgumentException($"clip norm must be ≥ 0 (got {ClipNorm})");
        if (!(LearningRateDecay > 0 && LearningRateDecay <= 1)) throw new ArgumentException($"learning-rate decay must be in (0, 1] (got {LearningRateDecay})");
        if (Threads is < 1 or > 256) throw new ArgumentException($"threads must be in 1..256 (got {Threads})");
        if (DecayEvery < 1) throw new ArgumentException($"decay interval must be ≥ 1 step (got {DecayEvery})");
    }

    /// <summary>The learning rate at optimizer step <paramref name="step"/> (0-based).</summary>
    public double LearningRateAt(long step) => LearningRateDecay == 1 ? LearningRate : LearningRate * Math.Pow(LearningRateDecay, step / DecayEvery);
}
