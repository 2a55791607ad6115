using System.Text.Json;

namespace CharRnn.Cli.Output;

/// <summary>Writes one JSON object per line to stdout (the <c>--json</c> output of every command).</summary>
internal static class JsonLine
{
    private static readonly JsonWriterOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Write(Action<Utf8JsonWriter> fields)
    {
        var line = Format(fields);
        var stdout = Console.OpenStandardOutput();
        stdout.Write(line);
        stdout.Flush();
    }

    /// <summary>The object <paramref name="fields"/> write, as UTF-8 ending with a newline.</summary>
    public static byte[] Format(Action<Utf8JsonWriter> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, Options))
        {
            json.WriteStartObject();
            fields(json);
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }
}

/// <summary>Writing measured values: JSON has no NaN or infinity.</summary>
internal static class JsonMeasures
{
    /// <summary>The value, or null when it is NaN or infinite (the loss or perplexity of a diverged model).</summary>
    public static void WriteMeasure(this Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value)) json.WriteNumber(name, value);
        else json.WriteNull(name);
    }

    /// <summary>A perplexity for people: fixed decimals, or three significant digits and an exponent past a million.</summary>
    public static string Perplexity(double value, int decimals = 2)
        => double.IsFinite(value) && Math.Abs(value) >= 1e6 ? value.ToString("0.00e+0", System.Globalization.CultureInfo.InvariantCulture)
            : value.ToString("F" + decimals, System.Globalization.CultureInfo.InvariantCulture);
}

