//! Window geometry shared by Conv, the pools and their transposes: explicit pads from
//! `auto_pad`, and the ConvTranspose that maps an output-sized gradient back onto the input.

use crate::GraphError;
use crate::autodiff::ctx::unsupported;
use crate::ir;
use crate::proto::NodeProto;

/// Kernel, strides, dilations and explicit pads (begin, end) of a windowed op over the
/// spatial dims `input` (static).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Window {
    pub kernel: Vec<i64>,
    pub strides: Vec<i64>,
    pub dilations: Vec<i64>,
    pub pads_begin: Vec<i64>,
    pub pads_end: Vec<i64>,
}

impl Window {
    /// Reads the attributes of a Conv/pool node. `kernel` comes from `kernel_shape` or, when
    /// absent (Conv), from the caller (weight dims).
    pub(crate) fn of(
        n: &NodeProto,
        input: &[i64],
        kernel: Option<Vec<i64>>,
    ) -> Result<Window, GraphError> {
        let sp = input.len();
        let kernel = match ir::attr_ints(n, "kernel_shape").or(kernel) {
            Some(k) if k.len() == sp => k,
            _ => return Err(unsupported(n, "kernel_shape missing or of the wrong rank")),
        };
        let list = |name: &str| -> Result<Vec<i64>, GraphError> {
            match ir::attr_ints(n, name) {
                Some(v) if v.is_empty() => Ok(vec![1; sp]),
                Some(v) if v.len() == sp => Ok(v),
                Some(_) => Err(unsupported(n, &format!("{name} has the wrong length"))),
                None => Ok(vec![1; sp]),
            }
        };
        let strides = list("strides")?;
        let dilations = list("dilations")?;
        let auto_pad = ir::attr_s(n, "auto_pad").unwrap_or_else(|| "NOTSET".into());
        let (pads_begin, pads_end) = match auto_pad.as_str() {
            "NOTSET" | "" => match ir::attr_ints(n, "pads") {
                None => (vec![0; sp], vec![0; sp]),
                Some(p) if p.is_empty() => (vec![0; sp], vec![0; sp]),
                Some(p) if p.len() == 2 * sp => (p[..sp].to_vec(), p[sp..].to_vec()),
                Some(_) => return Err(unsupported(n, "pads has the wrong length")),
            },
            "VALID" => (vec![0; sp], vec![0; sp]),
            "SAME_UPPER" | "SAME_LOWER" => {
                let mut b = Vec::with_capacity(sp);
                let mut e = Vec::with_capacity(sp);
                for i in 0..sp {
                    let out = (input[i] + strides[i] - 1) / strides[i];
                    let eff = (kernel[i] - 1) * dilations[i] + 1;
                    let total = ((out - 1) * strides[i] + eff - input[i]).max(0);
                    let small = total / 2;
                    if auto_pad == "SAME_UPPER" {
                        b.push(small);
                        e.push(total - small);
                    } else {
                        b.push(total - small);
                        e.push(small);
                    }
                }
                (b, e)
            }
            other => return Err(unsupported(n, &format!("auto_pad {other:?}"))),
        };
        Ok(Window {
            kernel,
            strides,
            dilations,
            pads_begin,
            pads_end,
        })
    }

    /// Attributes of the ConvTranspose that scatters an `output`-sized map back onto an
    /// `input`-sized one with this window: same kernel/strides/dilations, begin pads, and end
    /// pads or output_padding chosen so that the result has exactly the input's size (rows the
    /// forward windows never reached get zero).
    pub(crate) fn transpose_attrs(
        &self,
        input: &[i64],
        output: &[i64],
    ) -> Vec<crate::proto::AttributeProto> {
        let sp = input.len();
        let mut pe = Vec::with_capacity(sp);
        let mut op = Vec::with_capacity(sp);
        for i in 0..sp {
            let full =
                self.strides[i] * (output[i] - 1) + (self.kernel[i] - 1) * self.dilations[i] + 1;
            let end = full - self.pads_begin[i] - input[i];
            if end >= 0 {
                pe.push(end);
                op.push(0);
            } else {
                pe.push(0);
                op.push(-end);
            }
        }
        let mut pads = self.pads_begin.clone();
        pads.extend(pe);
        vec![
            ir::a_ints("kernel_shape", &self.kernel),
            ir::a_ints("strides", &self.strides),
            ir::a_ints("dilations", &self.dilations),
            ir::a_ints("pads", &pads),
            ir::a_ints("output_padding", &op),
        ]
    }
}
