namespace CharRnn.Fast.IO;

/// <summary>
/// The names a checkpoint file uses: the weights under PyTorch's state_dict names (<c>rnn.weight_ih_l{k}</c> …
/// <c>fc.bias</c>, see the parameter table), format 1's min-char-rnn names, and the metadata keys (string → string).
/// </summary>
public static class CheckpointKeys
{
    /// <summary>Value of <see cref="Format"/> this version writes; it also reads <see cref="Format1Tag"/>.</summary>
    public const string FormatTag = "charrnn-fast/2"; // "charrnn-fast/" + Version

    /// <summary>The first format: one vanilla layer as <see cref="Wxh"/>, <see cref="Whh"/>, <see cref="Bh"/>, <see cref="Why"/>, <see cref="By"/>.</summary>
    public const string Format1Tag = "charrnn-fast/1";

    // format 1's weight tensors, F32, row-major
    public const string Wxh = "Wxh";   // [H,V]
    public const string Whh = "Whh";   // [H,H]
    public const string Bh = "bh";     // [H]
    public const string Why = "Why";   // [V,H]
    public const string By = "by";     // [V]

    /// <summary>Carried hidden state of a training run: [L,B,H] ([B,H] in format 1).</summary>
    public const string TrainHidden = "train.hidden";

    /// <summary>Carried cell state of an LSTM's training run: [L,B,H].</summary>
    public const string TrainCell = "train.cell";

    // metadata: the model
    public const string Format = "format";
    public const string Vocabulary = "vocab";            // JSON array of one-character strings, in id order
    public const string HiddenSize = "hidden_size";
    public const string Nonlinearity = "nonlinearity";   // tanh | relu
    public const string Mode = "mode";                   // stream | lines
    public const string Cell = "cell";                   // rnn | lstm | gru
    public const string Layers = "layers";
    public const string Dropout = "dropout";             // the probability trained with (0 in files written without training)
    public const string Weights = "weights";             // bf16 | int8 in compact model files (charrnn quantize)

    // metadata: training state, present in resumable checkpoints
    public const string Optimizer = "optimizer";         // sgd | adagrad | adam | rmsprop
    public const string Alpha = "alpha";                 // RMSprop's decay
    public const string ForgetBias = "forget_bias";      // LSTM initialisation
    public const string LearningRate = "lr";
    public const string Beta1 = "beta1";
    public const string Beta2 = "beta2";
    public const string Epsilon = "eps";
    public const string Clip = "clip";
    public const string ClipNorm = "clip_norm";
    public const string LearningRateDecay = "lr_decay";
    public const string DecayEvery = "lr_decay_every";
    public const string SequenceLength = "seq_len";
    public const string BatchSize = "batch";
    public const string Threads = "threads";
    public const string Seed = "seed";
    public const string Init = "init";
    public const string InitBias = "init_bias";
    public const string Step = "step";
    public const string Epoch = "epoch";
    public const string Cursor = "cursor";
    public const string SmoothLoss = "smooth_loss";
    public const string OptimizerSteps = "optimizer_steps";
    public const string RngState = "rng_state";

    // metadata: the run, present in checkpoints the charrnn tool writes
    public const string RunId = "run_id";                // random, made when a run starts, kept across resumes
    public const string TextLength = "text_length";      // tokens (Unicode scalars) of the text trained on, after --lines framing
    public const string TextHash = "text_hash";          // "sha256:" + hex of that text's UTF-8 (see TextFingerprint)

    /// <summary>
    /// True when <paramref name="format"/> is a later version of this format ("charrnn-fast/N", N a number above this
    /// version's), so a reader can say "newer" rather than "unknown".
    /// </summary>
    public static bool IsLaterFormat(string format)
    {
        const string family = "charrnn-fast/";
        if (format is null || !format.StartsWith(family, StringComparison.Ordinal)) return false;
        string number = format[family.Length..];
        return number.Length > 0 && number[0] != '0' && number.All(char.IsAsciiDigit)
            && (number.Length > 9 || int.Parse(number, System.Globalization.CultureInfo.InvariantCulture) > Version);
    }

    /// <summary>The version number in <see cref="FormatTag"/>.</summary>
    public const int Version = 2;

    /// <summary>Optimizer moment tensor names, e.g. "adam.m.rnn.weight_hh_l0": prefix + "." + weight name.</summary>
    public static string Moment(string prefix, string tensor) => prefix + "." + tensor;
}
