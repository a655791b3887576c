namespace ToyModels.Backends.Simd.InstanceLanes;

/// <summary>
/// Where one group's tensors live: pointers to vectors of <c>Lanes</c> floats, one lane per instance. Weights,
/// gradients and optimizer slots follow <see cref="Model.ParameterLayout"/> per lane, element-major; the
/// per-row tensors are kept in panels of rows (<see cref="Panels"/>).
/// </summary>
internal readonly unsafe struct LaneGroup
{
    public int N { get; init; }
    public int M { get; init; }
    public int Batch { get; init; }
    public int PerInstance { get; init; }
    public bool Tied { get; init; }

    public float* X { get; init; }          // [B][n], panels
    public float* H { get; init; }          // [B][m], panels
    public float* Z { get; init; }          // [B][n], panels
    public float* Gz { get; init; }         // [B][n], panels
    public float* Gh { get; init; }         // [B][m], panels
    public float* RowLoss { get; init; }    // [B]
    public float* Importance { get; init; } // [n]
    public float* GradScale { get; init; }  // [n]

    public float* Parameters { get; init; } // ParameterLayout
    public float* Gradients { get; init; }  // ParameterLayout
    public float* First { get; init; }      // Adam's m or SGD's momentum, or null
    public float* Second { get; init; }     // Adam's v, or null

    public nint EncoderOffset { get; init; }     // where W_in (tied W), W_out and b begin in ParameterLayout, in elements
    public nint DecoderOffset { get; init; }
    public nint BiasOffset { get; init; }
    public float* Encoder { get; init; }         // W_in or tied W: [m][n]
    public float* Decoder { get; init; }         // W_out [n][m], or tied W [m][n]
    public float* Bias { get; init; }            // [n], or null
    public float* EncoderGradient { get; init; } // [m][n]
    public float* DecoderGradient { get; init; } // gW_out [n][m] (a scratch tensor for tied models)
    public float* BiasGradient { get; init; }    // [n], or null

    public int Live { get; init; }               // lanes that hold an instance
    public ulong* Seeds { get; init; }           // [Live]
    public ulong* StreamKeys { get; init; }      // the data stream's key schedule (LaneStream)
    public ulong* StreamThresholds { get; init; }

    /// <summary>The element of W_out[i][j] in <see cref="Decoder"/>: W[j][i] when tied.</summary>
    public nint DecoderElement(int i, int j) => Tied ? (nint)j * N + i : (nint)i * M + j;
}
