using CharRnn.Fast.Text;

namespace CharRnn.Fast.Model;

/// <summary>
/// A character-level recurrent network: vocabulary, parameters (input and output size V; the cell and the number of
/// layers are in their shape), the vanilla cell's nonlinearity, and whether it is a sequence ("lines") model, in which
/// every example is framed by the boundary token <c>\n</c>, the state restarts at each example, and generation runs
/// from the boundary token until the model emits it.
/// </summary>
public sealed class CharRnnModel
{
    /// <summary>The boundary symbol of sequence models.</summary>
    public const string BoundarySymbol = "\n";

    /// <summary>A model with zero parameters; fill them with <see cref="ParameterInitializer"/> or a checkpoint.</summary>
    public CharRnnModel(Vocabulary vocabulary, int hiddenSize, Nonlinearity nonlinearity = Nonlinearity.Tanh, bool sequenceMode = false,
        CellKind cell = CellKind.Rnn, int layers = 1)
        : this(vocabulary, new RnnParameters(RnnShape.ForCharacters(vocabulary.Count, hiddenSize, cell, layers)), nonlinearity, sequenceMode) { }

    /// <summary>A model over existing parameters (taken, not copied).</summary>
    public CharRnnModel(Vocabulary vocabulary, RnnParameters parameters, Nonlinearity nonlinearity = Nonlinearity.Tanh, bool sequenceMode = false)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Shape.InputSize != vocabulary.Count || parameters.Shape.OutputSize != vocabulary.Count)
            throw new ArgumentException($"parameters are shaped for {parameters.Shape.InputSize} inputs and {parameters.Shape.OutputSize} outputs but the vocabulary has {vocabulary.Count} symbols");
        Vocabulary = vocabulary;
        Parameters = parameters;
        Nonlinearity = nonlinearity;
        SequenceMode = sequenceMode;
        BoundaryToken = -1;
        if (sequenceMode)
        {
            if (!vocabulary.TryGetId(new System.Text.Rune('\n'), out int id))
                throw new ArgumentException("a sequence model's vocabulary must contain the boundary symbol \\n");
            BoundaryToken = id;
        }
    }

    public Vocabulary Vocabulary { get; }
    public RnnParameters Parameters { get; }
    public Nonlinearity Nonlinearity { get; }
    public bool SequenceMode { get; }

    /// <summary>Id of <c>\n</c> in sequence models, −1 otherwise.</summary>
    public int BoundaryToken { get; }

    public int HiddenSize => Parameters.Shape.HiddenSize;
    public CellKind Cell => Parameters.Shape.Cell;
    public int Layers => Parameters.Shape.Layers;
    public int VocabularySize => Vocabulary.Count;
}
