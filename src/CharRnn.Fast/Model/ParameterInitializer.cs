using System.Globalization;

namespace CharRnn.Fast.Model;

/// <summary>How weights (or biases) are drawn.</summary>
public enum InitKind
{
    /// <summary>All zero.</summary>
    Zero,
    /// <summary>N(0, σ²) with σ = <see cref="InitScheme.Scale"/> (min-char-rnn: 0.01).</summary>
    Normal,
    /// <summary>N(0, 1/fan_in): σ = √(1/I) for Wxh, √(1/H) for Whh and Why (seed 000).</summary>
    ScaledNormal,
    /// <summary>U(−a, a) with a = <see cref="InitScheme.Scale"/> (char-rnn: 0.08).</summary>
    Uniform,
}

/// <summary>An initialisation scheme: <c>normal:0.01</c>, <c>xavier</c>, <c>uniform:0.08</c>, <c>zero</c>.</summary>
public readonly record struct InitScheme(InitKind Kind, double Scale)
{
    /// <summary>Parses <c>normal:σ</c>, <c>xavier</c> (= scaled normal), <c>uniform:a</c>, <c>zero</c>.</summary>
    public static InitScheme Parse(string text)
    {
        var parts = text.Split(':', 2);
        string kind = parts[0].Trim().ToLowerInvariant();
        double scale = 0;
        if (parts.Length == 2 && !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out scale) | scale < 0 | double.IsNaN(scale) | double.IsInfinity(scale))
            throw new FormatException($"'{text}': the scale after ':' must be a non-negative number");
        return kind switch
        {
            "normal" => new InitScheme(InitKind.Normal, parts.Length == 2 ? scale : 0.01),
            "xavier" or "scaled" or "scaled-normal" => new InitScheme(InitKind.ScaledNormal, 1),
            "uniform" => new InitScheme(InitKind.Uniform, parts.Length == 2 ? scale : 0.08),
            "zero" or "zeros" => new InitScheme(InitKind.Zero, 0),
            _ => throw new FormatException($"'{text}' is not an initialisation; use normal:SIGMA, xavier, uniform:A or zero"),
        };
    }

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        InitKind.Normal => string.Create(CultureInfo.InvariantCulture, $"normal:{Scale}"),
        InitKind.ScaledNormal => "xavier",
        InitKind.Uniform => string.Create(CultureInfo.InvariantCulture, $"uniform:{Scale}"),
        _ => "zero",
    };
}

/// <summary>Fills an <see cref="RnnParameters"/> block from a seeded <see cref="Rng"/>, tensor by tensor in table order.</summary>
public static class ParameterInitializer
{
    /// <summary>
    /// Draws every weight from <paramref name="weights"/> and every bias from <paramref name="biases"/> (zero by default),
    /// tensor by tensor in <see cref="ParameterTable"/> order, each in its math layout row by row (W_ih as [G·H, in] though
    /// stored transposed), so the same seed gives the same model as a row-major numpy draw would — for the default model
    /// min-char-rnn's order Wxh, Whh, bh, Why, by. An LSTM's forget-gate rows of every bias are then set to
    /// <paramref name="forgetBias"/> when it is not zero (torch-rnn uses 1).
    /// </summary>
    public static void Initialize(RnnParameters p, InitScheme weights, InitScheme biases, Rng rng, double forgetBias = 0)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(rng);
        foreach (var tensor in p.Table.Tensors)
        {
            var view = p[tensor];
            bool isBias = tensor.Shape.Length == 1;
            var scheme = isBias ? biases : weights;
            if (!tensor.StoredTransposed)
            {
                for (int i = 0; i < view.Length; i++) view[i] = Draw(scheme, tensor.FanIn, rng);
                continue;
            }
            int rows = tensor.Shape[0], cols = tensor.Shape[1];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    view[c * rows + r] = Draw(scheme, tensor.FanIn, rng);
        }
        if (p.Shape.Cell == CellKind.Lstm && forgetBias != 0)
        {
            int h = p.Shape.HiddenSize;
            for (int k = 0; k < p.Shape.Layers; k++) p.Bias(k).Slice(h, h).Fill((float)forgetBias); // gates i, f, g, o: f is rows [H, 2H)
        }
    }

    private static float Draw(InitScheme scheme, int fanIn, Rng rng) => scheme.Kind switch
    {
        InitKind.Normal => (float)(rng.NextGaussian() * scheme.Scale),
        InitKind.ScaledNormal => (float)(rng.NextGaussian() * Math.Sqrt(1.0 / fanIn)),
        InitKind.Uniform => (float)((rng.NextDouble() * 2 - 1) * scheme.Scale),
        _ => 0f,
    };
}
