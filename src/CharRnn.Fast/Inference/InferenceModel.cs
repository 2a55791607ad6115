using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;

namespace CharRnn.Fast.Inference;

/// <summary>
/// An immutable snapshot of a <see cref="CharRnnModel"/> in the layouts generation reads: per layer the input table
/// (layer 0: W_ihᵀ rows gathered by token) or W_ihᵀ, W_hhᵀ, the bias (and GRU's b_hn), then the output layer's Wᵀ.
/// The matrices a generated character streams — every W_hhᵀ, W_ihᵀ above layer 0 and the output Wᵀ — are held in the
/// <see cref="Weights"/> format: f32 row-major, or bf16 or int8 (one symmetric scale per output unit), which read a
/// half or a quarter of f32's bytes per character; biases and layer 0's gathered table stay f32. Thread-safe: share one
/// across threads and give each caller its own <see cref="Generator"/>. Later changes to the source model's parameters
/// do not affect it.
/// </summary>
public sealed class InferenceModel
{
    private readonly float[][] _inputTable, _bias, _newGateBias;
    private readonly GenerationMatrix[] _inputT, _recurrentT;
    private readonly GenerationMatrix _outputT;
    private readonly float[] _outputBias;

    /// <summary>
    /// Copies and packs the weights of <paramref name="model"/> in the <paramref name="weights"/> format (rounded to
    /// bf16, or to int8 per output unit, from the model's floats); kernels run on <paramref name="policy"/> (default
    /// <see cref="KernelPolicy.Default"/>). A model read from a compact file packs back, in the format the file stores
    /// (<see cref="IO.LoadedCheckpoint.StoredWeights"/>), to the file's values: bf16 exactly, int8 the same codes with each
    /// row's scale within a float rounding.
    /// </summary>
    public InferenceModel(CharRnnModel model, KernelPolicy? policy = null, WeightFormat weights = WeightFormat.F32)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!Enum.IsDefined(weights)) throw new ArgumentOutOfRangeException(nameof(weights), weights, "weights are f32, bf16 or int8");
        Policy = policy ?? KernelPolicy.Default;
        Weights = weights;
        var p = model.Parameters;
        Shape = p.Shape;
        Vocabulary = model.Vocabulary;
        Nonlinearity = model.Nonlinearity;
        SequenceMode = model.SequenceMode;
        BoundaryToken = model.BoundaryToken;
        int layers = Shape.Layers, h = Shape.HiddenSize, gh = Shape.GateWidth;
        _inputTable = new float[layers][];
        _bias = new float[layers][];
        _newGateBias = new float[layers][];
        _inputT = new GenerationMatrix[layers];
        _recurrentT = new GenerationMatrix[layers];
        for (int l = 0; l < layers; l++)
        {
            _bias[l] = p.Bias(l).ToArray();
            _newGateBias[l] = p.NewGateHiddenBias(l).ToArray();
            // layer 0: its one-hot input selects a row of W_ihᵀ; above it a GEMV with W_ihᵀ
            _inputTable[l] = l == 0 ? p.InputWeights(0).ToArray() : [];
            _inputT[l] = GenerationMatrix.Create(l == 0 ? WeightFormat.F32 : weights, Policy, l == 0 ? 0 : h, gh);
            if (l > 0) _inputT[l].Pack(p.InputWeights(l));
            _recurrentT[l] = GenerationMatrix.Create(weights, Policy, h, gh);
            _recurrentT[l].PackTransposeOf(p.RecurrentWeights(l));
        }
        // the logits' columns padded with zeros to whole vectors: the GEMV then runs vector tiles to the end instead of
        // gathering the last column of Wᵀ (strided, once per character) for a dot product
        int v = Shape.OutputSize;
        OutputColumns = (v + Policy.Width - 1) / Policy.Width * Policy.Width;
        var paddedW = new float[OutputColumns * h];
        p.OutputWeights.CopyTo(paddedW);
        _outputT = GenerationMatrix.Create(weights, Policy, h, OutputColumns);
        _outputT.PackTransposeOf(paddedW);
        _outputBias = new float[OutputColumns];
        p.OutputBias.CopyTo(_outputBias);
        // Wᵀ and its bias, layer 0's gathered row; per layer W_ihᵀ (none for layer 0), W_hhᵀ, the bias and GRU's b_hn
        long bytes = _outputT.StoredBytes + (long)(OutputColumns + gh) * sizeof(float);
        for (int l = 0; l < layers; l++) bytes += _inputT[l].StoredBytes + _recurrentT[l].StoredBytes + (long)(_bias[l].Length + _newGateBias[l].Length) * sizeof(float);
        WeightBytesPerCharacter = bytes;
    }

    /// <summary>
    /// Bytes of weights one generated character reads: every layer's W_hhᵀ, W_ihᵀ above layer 0 and the output layer's
    /// Wᵀ in the model's format, layer 0's gathered row and the biases in f32. Generation streams all of them once per
    /// character, so this over the time per character is its memory traffic (<c>charrnn bench</c>'s generate_gbps).
    /// </summary>
    public long WeightBytesPerCharacter { get; }

    public Vocabulary Vocabulary { get; }

    /// <summary>The kernels generation runs on, chosen when the model was made.</summary>
    public KernelPolicy Policy { get; }

    /// <summary>How the streamed weight matrices are held: f32, bf16 or int8.</summary>
    public WeightFormat Weights { get; }

    /// <summary>Sizes, cell and layers.</summary>
    public RnnShape Shape { get; }

    public Nonlinearity Nonlinearity { get; }
    public bool SequenceMode { get; }
    public int BoundaryToken { get; }
    public int HiddenSize => Shape.HiddenSize;
    public CellKind Cell => Shape.Cell;
    public int Layers => Shape.Layers;
    public int VocabularySize => Vocabulary.Count;

    /// <summary>Layer 0's W_ihᵀ: [V, G·H], row v = the gate inputs of token v.</summary>
    internal ReadOnlySpan<float> InputTable => _inputTable[0];

    /// <summary>W_ihᵀ of layer l ≥ 1: [H, G·H].</summary>
    internal GenerationMatrix InputT(int layer) => _inputT[layer];

    /// <summary>W_hhᵀ of layer l: [H, G·H].</summary>
    internal GenerationMatrix RecurrentT(int layer) => _recurrentT[layer];

    /// <summary>The bias of layer l: [G·H].</summary>
    internal ReadOnlySpan<float> Bias(int layer) => _bias[layer];

    /// <summary>GRU's b_hn of layer l: [H] (empty for other cells).</summary>
    internal ReadOnlySpan<float> NewGateBias(int layer) => _newGateBias[layer];

    /// <summary>V rounded up to whole vectors of the policy: the logits GEMV's width.</summary>
    internal int OutputColumns { get; }

    /// <summary>The output layer's Wᵀ: [H, <see cref="OutputColumns"/>], zero past V.</summary>
    internal GenerationMatrix OutputT => _outputT;

    /// <summary>Room for one thread to prepare <paramref name="rows"/> rows of H activations for this model's products (every one has K = H).</summary>
    internal GemvScratch NewScratch(int rows) => new(Weights, rows, HiddenSize);

    /// <summary>The output bias: [<see cref="OutputColumns"/>], zero past V.</summary>
    internal ReadOnlySpan<float> OutputBias => _outputBias;

    /// <summary>The token generation starts from when no prime is given: the boundary <c>\n</c> if the vocabulary has it, else token 0.</summary>
    public int DefaultStartToken => Vocabulary.TryGetId(new System.Text.Rune('\n'), out int id) ? id : 0;
}
