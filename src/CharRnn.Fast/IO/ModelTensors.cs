using System.Globalization;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.IO;

/// <summary>
/// The parameter block against a file's tensors, driven by the <see cref="ParameterTable"/>. Format 2 is PyTorch's
/// state_dict of <c>nn.RNN/LSTM/GRU(V, H, num_layers=L)</c> as <c>rnn</c> and <c>nn.Linear(H, V)</c> as <c>fc</c>:
/// <c>rnn.weight_ih_l{k}</c> [G·H, in], <c>rnn.weight_hh_l{k}</c> [G·H, H], <c>rnn.bias_ih_l{k}</c> and
/// <c>rnn.bias_hh_l{k}</c> [G·H], <c>fc.weight</c> [V, H], <c>fc.bias</c> [V]. The engine keeps one bias per gate row,
/// written as bias_ih with bias_hh zero — except GRU's b_hn, which sits inside r ⊙ (…) and is written in the n rows
/// of bias_hh. Reading folds a nonzero bias_hh into the bias wherever that is exact, and an <c>embedding.weight</c>
/// [V, E] (layer 0's weight_ih then [G·H, E]) into layer 0's table. Format 1 (min-char-rnn's <c>Wxh</c> [H,V],
/// <c>Whh</c>, <c>bh</c>, <c>Why</c>, <c>by</c>) is a one-layer vanilla model.
/// Compact files (<c>charrnn quantize</c>) store the weight matrices generation streams — every weight_hh, the
/// weight_ih of layers above 0 and fc.weight — as BF16, or as I8 with an F32 <c>&lt;name&gt;.scale</c> [rows] (one
/// symmetric scale per row: w = q·scale); biases and layer 0's gathered table stay F32. Reading converts them to float.
/// </summary>
internal static class ModelTensors
{
    // format 1's names
    private const string Wxh = "Wxh", Whh = "Whh", Bh = "bh", Why = "Why", By = "by";

    /// <summary>The tensors a compact file stores compactly: the weights a generation step streams.</summary>
    public static bool IsCompactable(ParameterTensor t)
        => t.Role is ParameterRole.RecurrentWeights or ParameterRole.OutputWeights || (t.Role == ParameterRole.InputWeights && t.Layer > 0);

    /// <summary>
    /// Appends the file tensors of <paramref name="p"/> (names prefixed with <paramref name="prefix"/> + "." for optimizer
    /// moments); with <paramref name="compact"/> "BF16" or "I8", the compactable weights in that form.
    /// </summary>
    public static void Add(List<SafetensorsTensor> tensors, RnnParameters p, string? prefix, string compact = "F32")
    {
        var shape = p.Shape;
        int h = shape.HiddenSize, gh = shape.GateWidth;
        foreach (var t in p.Table.Tensors)
        {
            var view = p[t];
            switch (t.Role)
            {
                case ParameterRole.InputWeights:
                {
                    int rows = t.Shape[0], cols = t.Shape[1];
                    var data = new float[rows * cols];
                    for (int r = 0; r < rows; r++)
                        for (int c = 0; c < cols; c++) data[r * cols + c] = view[c * rows + r]; // stored [in, G·H]
                    AddWeights(tensors, Name(prefix, t.Name), t, data, compact);
                    break;
                }
                case ParameterRole.Bias:
                {
                    tensors.Add(new SafetensorsTensor(Name(prefix, t.Name), t.Shape, view.ToArray()));
                    // bias_hh: zero where the bias folds; GRU's n rows hold b_hn
                    var hh = new float[gh];
                    if (shape.Cell == CellKind.Gru) p.NewGateHiddenBias(t.Layer).CopyTo(hh.AsSpan(2 * h, h));
                    tensors.Add(new SafetensorsTensor(Name(prefix, ParameterTable.HiddenBiasName(t.Layer)), [gh], hh));
                    break;
                }
                case ParameterRole.NewGateHiddenBias:
                    break; // written with the bias
                default:
                    AddWeights(tensors, Name(prefix, t.Name), t, view.ToArray(), compact);
                    break;
            }
        }
    }

    // a tensor as F32, or (when compactable) as BF16 values, or as I8 codes and a scale per row
    private static void AddWeights(List<SafetensorsTensor> tensors, string name, ParameterTensor t, float[] data, string compact)
    {
        if (compact == "F32" || !IsCompactable(t))
        {
            tensors.Add(new SafetensorsTensor(name, t.Shape, data));
            return;
        }
        if (compact == "BF16")
        {
            for (int i = 0; i < data.Length; i++) data[i] = Kernels.BFloat16.Widen(Kernels.BFloat16.Round(data[i]));
            tensors.Add(new SafetensorsTensor(name, t.Shape, data) { DType = "BF16" });
            return;
        }
        int rows = t.Shape[0], cols = t.Shape[1];
        var scales = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            var row = data.AsSpan(r * cols, cols);
            float max = 0;
            foreach (float x in row) max = Math.Max(max, Math.Abs(x));
            scales[r] = Kernels.Int8Quantization.Scale(max);
            for (int c = 0; c < cols; c++) row[c] = Kernels.Int8Quantization.Quantize(row[c], scales[r]);
        }
        tensors.Add(new SafetensorsTensor(name, t.Shape, data) { DType = "I8" });
        tensors.Add(new SafetensorsTensor(name + ScaleSuffix, [rows], scales));
    }

    /// <summary>
    /// The format the file stores the matrices generation streams in: int8 when any of them is I8, else bf16 when any is
    /// BF16, else f32 (F32, F64 and F16 files, format 1).
    /// </summary>
    public static WeightFormat StoredFormat(SafetensorsContents file, RnnParameters p)
    {
        var format = WeightFormat.F32;
        foreach (var t in p.Table.Tensors)
        {
            if (!IsCompactable(t) || !file.TryGet(t.Name, out var stored)) continue;
            if (stored.DType == "I8") return WeightFormat.Int8;
            if (stored.DType == "BF16") format = WeightFormat.Bf16;
        }
        return format;
    }

    /// <summary>The suffix of an I8 tensor's scales: <c>fc.weight.scale</c>.</summary>
    public const string ScaleSuffix = ".scale";

    /// <summary>A tensor's values as floats: I8 codes times their row's scale (checked), everything else as read.</summary>
    private static float[] Values(SafetensorsContents file, SafetensorsTensor t, string source)
    {
        if (t.DType != "I8") return t.Data;
        if (t.Shape.Length != 2) throw new CheckpointFormatException($"{source}: tensor '{t.Name}' is I8 but not a matrix: only weight matrices may be compact");
        int rows = t.Shape[0], cols = t.Shape[1];
        if (!file.TryGet(t.Name + ScaleSuffix, out var scale))
            throw new CheckpointFormatException($"{source}: tensor '{t.Name}' is I8 but the file has no '{t.Name}{ScaleSuffix}' with its scales");
        if (!scale.Shape.AsSpan().SequenceEqual([rows]) || scale.DType != "F32")
            throw new CheckpointFormatException($"{source}: tensor '{t.Name}{ScaleSuffix}' is {scale.DType} {ShapeText(scale.Shape)} but must be F32 [{rows}], one scale per row of '{t.Name}'");
        foreach (float s in scale.Data)
            if (!float.IsFinite(s) || s < 0) throw new CheckpointFormatException($"{source}: tensor '{t.Name}{ScaleSuffix}' holds {s}: scales are finite and ≥ 0");
        var values = new float[t.Data.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) values[r * cols + c] = t.Data[r * cols + c] * scale.Data[r];
        return values;
    }

    /// <summary>
    /// The shape of the model a file holds, for a vocabulary of <paramref name="vocabularySize"/>: format 2 (by its
    /// <c>rnn.weight_hh_l0</c>), or format 1 (by its <c>Whh</c>). Checks the metadata that describes it.
    /// </summary>
    public static RnnShape Shape(SafetensorsContents file, int vocabularySize, string source)
    {
        var meta = file.Metadata;
        if (!file.TryGet("rnn.weight_hh_l0", out var whh0))
        {
            var whh = file.Get(Whh);
            if (whh.Shape.Length != 2 || whh.Shape[0] != whh.Shape[1] || whh.Shape[0] < 1)
                throw new CheckpointFormatException($"{source}: Whh must be a square [H,H] matrix, got {ShapeText(whh.Shape)}");
            if (meta.TryGetValue("cell", out var oldCell) && oldCell != "rnn") throw new CheckpointFormatException($"{source}: a format-1 file holds a vanilla (rnn) model, but the metadata says cell '{oldCell}'");
            return CheckHidden(RnnShape.ForCharacters(vocabularySize, whh.Shape[0]), meta, source);
        }
        if (whh0.Shape.Length != 2 || whh0.Shape[1] < 1 || whh0.Shape[0] % whh0.Shape[1] != 0)
            throw new CheckpointFormatException($"{source}: rnn.weight_hh_l0 must be [G·H, H] with G = 1, 4 or 3, got {ShapeText(whh0.Shape)}");
        int h = whh0.Shape[1], gates = whh0.Shape[0] / h;
        CellKind cell;
        if (meta.TryGetValue("cell", out var cellName))
        {
            if (!CellKinds.TryParse(cellName, out cell)) throw new CheckpointFormatException($"{source}: cell '{cellName}' is not rnn, lstm or gru");
            if (cell.Gates() != gates) throw new CheckpointFormatException($"{source}: a {cellName} layer has {cell.Gates()} gate blocks, but rnn.weight_hh_l0 is {ShapeText(whh0.Shape)} ({gates} blocks of H = {h})");
        }
        else cell = gates switch
        {
            1 => CellKind.Rnn,
            4 => CellKind.Lstm,
            3 => CellKind.Gru,
            _ => throw new CheckpointFormatException($"{source}: rnn.weight_hh_l0 is {ShapeText(whh0.Shape)}: {gates} gate blocks of H = {h} is no rnn (1), lstm (4) or gru (3)"),
        };
        // the depth is the highest layer any of PyTorch's per-layer names mentions, so a file missing a middle layer's
        // tensor is refused as such instead of read as a shallower model
        int layers = 1 + file.Tensors.Select(t => LayerOf(t.Name)).Max();
        if (meta.TryGetValue("layers", out var layerText) && layerText != layers.ToString(CultureInfo.InvariantCulture))
            throw new CheckpointFormatException($"{source}: layers says {layerText} but the file holds tensors of layers 0 … {layers - 1}");
        if (layers > 64) throw new CheckpointFormatException($"{source}: {layers} layers is more than 64");
        for (int k = 1; k < layers; k++)
            if (!file.TryGet($"rnn.weight_hh_l{k}", out _))
                throw new CheckpointFormatException($"{source}: the file holds tensors of layers 0 … {layers - 1} but no rnn.weight_hh_l{k}");
        return CheckHidden(RnnShape.ForCharacters(vocabularySize, h, cell, layers), meta, source);
    }

    /// <summary>k for PyTorch's per-layer names (<c>rnn.weight_ih_l{k}</c>, <c>rnn.bias_hh_l{k}</c>, …, with any prefix), else 0.</summary>
    private static int LayerOf(string name)
    {
        int at = name.LastIndexOf("_l", StringComparison.Ordinal);
        if (at < 0 || !Array.Exists(LayerTensors, t => name.AsSpan(0, at).EndsWith(t, StringComparison.Ordinal))) return 0;
        return int.TryParse(name.AsSpan(at + 2), NumberStyles.None, CultureInfo.InvariantCulture, out int k) && k < 1 << 20 ? k : 0;
    }

    private static readonly string[] LayerTensors = ["rnn.weight_ih", "rnn.weight_hh", "rnn.bias_ih", "rnn.bias_hh"];

    /// <summary>
    /// Reads <paramref name="p"/>'s tensors (prefixed for optimizer moments) from <paramref name="file"/>, in whichever format
    /// it holds them; every shape is checked.
    /// </summary>
    public static void Read(SafetensorsContents file, RnnParameters p, string? prefix, string source)
    {
        if (!file.TryGet(Name(prefix, "rnn.weight_hh_l0"), out _) && file.TryGet(Name(prefix, Whh), out _))
        {
            ReadFormat1(file, p, prefix, source);
            return;
        }
        var shape = p.Shape;
        int h = shape.HiddenSize, gh = shape.GateWidth, v = shape.InputSize;
        file.TryGet(Name(prefix, "embedding.weight"), out var embedding);
        foreach (var t in p.Table.Tensors)
        {
            var view = p[t];
            switch (t.Role)
            {
                case ParameterRole.InputWeights when t.Layer == 0 && embedding is not null:
                {
                    // W_ih [G·H, E] applied to embedding rows: the table's row v is W_ih·emb[v]
                    var emb = file.Get(embedding.Name);
                    int e = emb.Shape.Length == 2 && emb.Shape[1] >= 1 ? emb.Shape[1] : -1;
                    emb = Expect(file, embedding.Name, "V,E", shape, e, source) with { Data = Values(file, emb, source) };
                    var wih = Expect(file, Name(prefix, t.Name), "G·H,E", shape, e, source) with { Data = Values(file, file.Get(Name(prefix, t.Name)), source) };
                    for (int x = 0; x < v; x++)
                        for (int r = 0; r < gh; r++)
                        {
                            double sum = 0;
                            for (int k = 0; k < e; k++) sum += (double)wih.Data[r * e + k] * emb.Data[x * e + k];
                            view[x * gh + r] = (float)sum;
                        }
                    break;
                }
                case ParameterRole.InputWeights:
                {
                    int rows = t.Shape[0], cols = t.Shape[1];
                    var data = Values(file, Expect(file, Name(prefix, t.Name), t.Layer == 0 ? "G·H,V" : "G·H,H", shape, 0, source), source);
                    for (int r = 0; r < rows; r++)
                        for (int c = 0; c < cols; c++) view[c * rows + r] = data[r * cols + c];
                    break;
                }
                case ParameterRole.Bias:
                {
                    Values(file, Expect(file, Name(prefix, t.Name), "G·H", shape, 0, source), source).CopyTo(view);
                    if (!file.TryGet(Name(prefix, ParameterTable.HiddenBiasName(t.Layer)), out _)) break;
                    var hh = Values(file, Expect(file, Name(prefix, ParameterTable.HiddenBiasName(t.Layer)), "G·H", shape, 0, source), source);
                    int folded = shape.Cell == CellKind.Gru ? 2 * h : gh; // b_hn stays apart
                    for (int r = 0; r < folded; r++) view[r] += hh[r];
                    if (shape.Cell == CellKind.Gru) hh.AsSpan(2 * h, h).CopyTo(p.NewGateHiddenBias(t.Layer));
                    break;
                }
                case ParameterRole.NewGateHiddenBias:
                    break; // read with the bias (a GRU file without bias_hh has b_hn = 0)
                default:
                    string dims = t.Role switch { ParameterRole.RecurrentWeights => "G·H,H", ParameterRole.OutputWeights => "V,H", _ => "V" };
                    Values(file, Expect(file, Name(prefix, t.Name), dims, shape, 0, source), source).CopyTo(view);
                    break;
            }
        }
    }

    private static void ReadFormat1(SafetensorsContents file, RnnParameters p, string? prefix, string source)
    {
        var s = p.Shape;
        if (s.Cell != CellKind.Rnn || s.Layers != 1) throw new CheckpointFormatException($"{source}: format-1 tensors hold a one-layer vanilla model");
        int h = s.HiddenSize, v = s.InputSize;
        var wxh = Values(file, Expect(file, Name(prefix, Wxh), "H,V", s, 0, source), source);
        var table = p.InputWeights(0);
        for (int r = 0; r < h; r++)
            for (int c = 0; c < v; c++) table[c * h + r] = wxh[r * v + c];
        Values(file, Expect(file, Name(prefix, Whh), "H,H", s, 0, source), source).CopyTo(p.RecurrentWeights(0));
        Values(file, Expect(file, Name(prefix, Bh), "H", s, 0, source), source).CopyTo(p.Bias(0));
        Values(file, Expect(file, Name(prefix, Why), "V,H", s, 0, source), source).CopyTo(p.OutputWeights);
        Values(file, Expect(file, Name(prefix, By), "V", s, 0, source), source).CopyTo(p.OutputBias);
    }

    private static RnnShape CheckHidden(RnnShape shape, IReadOnlyDictionary<string, string> meta, string source)
    {
        if (meta.TryGetValue("hidden_size", out var hs) && hs != shape.HiddenSize.ToString(CultureInfo.InvariantCulture))
            throw new CheckpointFormatException($"{source}: hidden_size says {hs} but the recurrent weights have H = {shape.HiddenSize}");
        try { shape.Validate(); }
        catch (ArgumentException e) { throw new CheckpointFormatException($"{source}: {e.Message.Split(Environment.NewLine)[0]}"); }
        return shape;
    }

    /// <summary>
    /// The tensor, checked against the dimensions <paramref name="dims"/> ("G·H,V": symbols G·H, H, V, E separated by
    /// commas) of <paramref name="shape"/> (E = <paramref name="embedding"/>, the embedding's width); a column vector [n,1]
    /// (the numpy seeds keep biases that way) is accepted for a vector [n]. The error names where each size comes from.
    /// </summary>
    private static SafetensorsTensor Expect(SafetensorsContents file, string name, string dims, RnnShape shape, int embedding, string source)
    {
        var t = file.Get(name);
        var symbols = dims.Split(',');
        var expected = symbols.Select(d => d switch
        {
            "G·H" => shape.GateWidth,
            "H" => shape.HiddenSize,
            "V" => shape.InputSize,
            _ => embedding,
        }).ToArray();
        bool vectorAsColumn = expected.Length == 1 && t.Shape.Length == 2 && t.Shape[0] == expected[0] && t.Shape[1] == 1;
        if (!vectorAsColumn && !t.Shape.AsSpan().SequenceEqual(expected))
        {
            string hFrom = file.TryGet("rnn.weight_hh_l0", out _) ? "rnn.weight_hh_l0" : Whh;
            var origins = symbols.Distinct().Select(d => d switch
            {
                "G·H" => shape.Gates == 1 ? $"G·H = {shape.GateWidth}, one gate block of H, from {hFrom}" : $"G·H = {shape.Gates}·{shape.HiddenSize} = {shape.GateWidth}, {shape.Cell.Name()}'s gate blocks of H from {hFrom}",
                "H" => $"H = {shape.HiddenSize}, from {hFrom}",
                "V" => $"V = {shape.InputSize}, the vocabulary's size",
                _ => embedding > 0 ? $"E = {embedding}, from embedding.weight" : "E ≥ 1, the embedding's width",
            });
            throw new CheckpointFormatException($"{source}: tensor '{name}' is {ShapeText(t.Shape)} but must be [{dims}] = {ShapeText(expected)} ({string.Join("; ", origins)})");
        }
        return t;
    }

    private static string Name(string? prefix, string tensor) => prefix is null ? tensor : prefix + "." + tensor;

    internal static string ShapeText(int[] shape) => "[" + string.Join(",", shape) + "]";
}
