using System.Globalization;

namespace CharRnn.Fast.Model;

/// <summary>Hidden nonlinearity of the vanilla (<see cref="CellKind.Rnn"/>) cell.</summary>
public enum Nonlinearity
{
    Tanh,
    Relu,
}

/// <summary>
/// Sizes of a recurrent network: input I (V for characters), hidden H, output O (V for characters), the cell of every
/// layer and the number of layers L. Layer 0 reads the input, layer l &gt; 0 the hidden state of layer l − 1, the output
/// layer the top one.
/// </summary>
public readonly record struct RnnShape(int InputSize, int HiddenSize, int OutputSize, CellKind Cell = CellKind.Rnn, int Layers = 1)
{
    /// <summary>G: gate blocks per layer (1, 4, 3).</summary>
    public int Gates => Cell.Gates();

    /// <summary>G·H: rows of a layer's weight matrices, columns of its gate pre-activations.</summary>
    public int GateWidth => Gates * HiddenSize;

    /// <summary>Inputs of layer <paramref name="layer"/>: I for layer 0, H above it.</summary>
    public int LayerInputSize(int layer) => layer == 0 ? InputSize : HiddenSize;

    /// <summary>Floats of the recurrent state of <paramref name="batch"/> streams: h [L,B,H], then c [L,B,H] for an LSTM.</summary>
    public int StateSize(int batch) => (Cell.HasCellState() ? 2 : 1) * Layers * batch * HiddenSize;

    /// <summary>Every parameter, as <see cref="ParameterTable"/> lays them out.</summary>
    public long ParameterCount => ParameterTable.Count(this);

    /// <summary>The shape of a character model over a vocabulary of <paramref name="vocabularySize"/>.</summary>
    public static RnnShape ForCharacters(int vocabularySize, int hiddenSize, CellKind cell = CellKind.Rnn, int layers = 1)
        => new(vocabularySize, hiddenSize, vocabularySize, cell, layers);

    /// <summary>The most characters a model's vocabulary (its input and output size) may hold: 1,048,576.</summary>
    public const int MaxVocabulary = 1 << 20;

    /// <summary>
    /// Throws <see cref="ArgumentOutOfRangeException"/> unless every size is in range, and <see cref="ArgumentException"/>
    /// unless the parameters fit one array.
    /// </summary>
    public void Validate()
    {
        if (InputSize is < 1 or > MaxVocabulary) throw new ArgumentOutOfRangeException(nameof(InputSize), InputSize, "input size must be in 1..1048576");
        if (HiddenSize is < 1 or > 1 << 16) throw new ArgumentOutOfRangeException(nameof(HiddenSize), HiddenSize, "hidden size must be in 1..65536");
        if (OutputSize is < 1 or > MaxVocabulary) throw new ArgumentOutOfRangeException(nameof(OutputSize), OutputSize, "output size must be in 1..1048576");
        if (Layers is < 1 or > 64) throw new ArgumentOutOfRangeException(nameof(Layers), Layers, "layers must be in 1..64");
        if (!Enum.IsDefined(Cell)) throw new ArgumentOutOfRangeException(nameof(Cell), Cell, "unknown cell");
        // not one argument out of range but the sizes together: a plain ArgumentException, whose message is the whole sentence
        if (ParameterCount > Array.MaxLength)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{Describe()} has {ParameterCount:N0} parameters; at most {Array.MaxLength:N0} fit one array (fewer units or layers)"));
        if ((long)GateWidth * Math.Max(InputSize, HiddenSize) > Array.MaxLength)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{Describe()} has a weight matrix of {(long)GateWidth * Math.Max(InputSize, HiddenSize):N0} floats; at most {Array.MaxLength:N0} fit one array (fewer units)"));
    }

    /// <summary>"a model of 2 lstm layers of 512 units over 65 symbols".</summary>
    private string Describe()
        => $"a model of {Layers} {Cell.Name()} layer{(Layers == 1 ? "" : "s")} of {HiddenSize} units over {InputSize} symbols";
}
