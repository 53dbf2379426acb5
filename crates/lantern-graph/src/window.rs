//! Window geometry of Conv and the pools, shared by their gradient rules and the
//! receptive-field rules: kernel, strides, dilations and the explicit pads that `auto_pad`
//! stands for; and the ConvTranspose that maps an output-sized map back onto the input.
//! `ceil_mode` needs nothing here: it only lengthens the output, whose size callers read from
//! the probed shapes.

use crate::ir;
use crate::proto::{AttributeProto, NodeProto};

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
    /// Reads the attributes of a Conv/pool node over spatial dims `input`. `kernel` comes from
    /// `kernel_shape` or, when absent (Conv), from the caller (weight dims). The error is the
    /// detail of an unsupported variant, for the caller to word.
    pub(crate) fn of(
        n: &NodeProto,
        input: &[i64],
        kernel: Option<Vec<i64>>,
    ) -> Result<Window, String> {
        let sp = input.len();
        let kernel = match ir::attr_ints(n, "kernel_shape").or(kernel) {
            Some(k) if k.len() == sp => k,
            _ => return Err("kernel_shape missing or of the wrong rank".into()),
        };
        let list = |name: &str| -> Result<Vec<i64>, String> {
            match ir::attr_ints(n, name) {
                Some(v) if v.is_empty() => Ok(vec![1; sp]),
                Some(v) if v.len() == sp && v.iter().all(|&s| s >= 1) => Ok(v),
                Some(v) if v.len() == sp => Err(format!("{name} must be positive")),
                Some(_) => Err(format!("{name} has the wrong length")),
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
                Some(_) => return Err("pads has the wrong length".into()),
            },
            "VALID" => (vec![0; sp], vec![0; sp]),
            // Output ceil(input / stride); the odd pad goes at the end (UPPER) or the begin.
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
            other => return Err(format!("auto_pad {other:?}")),
        };
        Ok(Window {
            kernel,
            strides,
            dilations,
            pads_begin,
            pads_end,
        })
    }

    /// How far one window reaches along axis `i`: `dilation·(kernel − 1) + 1`.
    pub(crate) fn extent(&self, i: usize) -> i64 {
        self.dilations[i] * (self.kernel[i] - 1) + 1
    }

    /// Whether any pad is nonzero.
    pub(crate) fn has_pads(&self) -> bool {
        self.pads_begin
            .iter()
            .chain(&self.pads_end)
            .any(|&p| p != 0)
    }

    /// Attributes of the ConvTranspose that scatters an `output`-sized map back onto an
    /// `input`-sized one with this window: same kernel/strides/dilations, begin pads, and end
    /// pads or output_padding chosen so that the result has exactly the input's size (rows the
    /// forward windows never reached get zero).
    pub(crate) fn transpose_attrs(&self, input: &[i64], output: &[i64]) -> Vec<AttributeProto> {
        let sp = input.len();
        let mut pe = Vec::with_capacity(sp);
        let mut op = Vec::with_capacity(sp);
        for i in 0..sp {
            let full = self.strides[i] * (output[i] - 1) + self.extent(i);
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

#[cfg(test)]
mod tests {
    use super::Window;
    use crate::ir::{a_ints, a_string, make_node};
    use crate::proto::AttributeProto;

    fn pool(attrs: Vec<AttributeProto>) -> crate::proto::NodeProto {
        make_node("MaxPool", &["x"], &["y"], "pool", attrs)
    }

    /// SAME pads give ceil(input / stride) outputs, split evenly with the odd one at the end
    /// (UPPER) or the begin (LOWER), against the output-size formula over many geometries.
    #[test]
    fn same_pads_give_ceil_outputs() {
        for input in 1..12i64 {
            for kernel in 1..5i64 {
                for stride in 1..4i64 {
                    for dilation in 1..3i64 {
                        for mode in ["SAME_UPPER", "SAME_LOWER"] {
                            let n = pool(vec![
                                a_ints("kernel_shape", &[kernel]),
                                a_ints("strides", &[stride]),
                                a_ints("dilations", &[dilation]),
                                a_string("auto_pad", mode),
                            ]);
                            let w = Window::of(&n, &[input], None).expect("window");
                            let (b, e) = (w.pads_begin[0], w.pads_end[0]);
                            let out = (input + b + e - w.extent(0)).div_euclid(stride) + 1;
                            let want = (input + stride - 1) / stride;
                            let case =
                                format!("{mode} in {input} k {kernel} s {stride} d {dilation}");
                            assert_eq!(out, want, "{case}: pads {b}, {e}");
                            let (odd, even) = if mode == "SAME_LOWER" { (b, e) } else { (e, b) };
                            assert!(matches!(odd - even, 0 | 1), "{case}: pads {b}, {e}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn explicit_pads_defaults_and_errors() {
        let n = pool(vec![
            a_ints("kernel_shape", &[3, 2]),
            a_ints("pads", &[1, 0, 2, 1]),
        ]);
        let w = Window::of(&n, &[7, 7], None).expect("window");
        assert_eq!(
            w,
            Window {
                kernel: vec![3, 2],
                strides: vec![1, 1],
                dilations: vec![1, 1],
                pads_begin: vec![1, 0],
                pads_end: vec![2, 1],
            }
        );
        // Conv: the kernel from the weights when there is no kernel_shape.
        let conv = make_node("Conv", &["x", "w"], &["y"], "conv", vec![]);
        let w = Window::of(&conv, &[5, 5], Some(vec![3, 3])).expect("window");
        assert_eq!(w.kernel, vec![3, 3]);
        assert!(!w.has_pads());
        let valid = pool(vec![
            a_ints("kernel_shape", &[3]),
            a_string("auto_pad", "VALID"),
        ]);
        assert!(!Window::of(&valid, &[9], None).expect("window").has_pads());
        for (attrs, why) in [
            (vec![a_ints("kernel_shape", &[3, 3])], "wrong rank"),
            (
                vec![a_ints("kernel_shape", &[3]), a_ints("strides", &[0])],
                "strides must be positive",
            ),
            (
                vec![a_ints("kernel_shape", &[3]), a_ints("pads", &[1])],
                "pads has the wrong length",
            ),
            (
                vec![a_ints("kernel_shape", &[3]), a_string("auto_pad", "SAME")],
                "auto_pad",
            ),
        ] {
            let e = Window::of(&pool(attrs), &[9], None).expect_err(why);
            assert!(e.contains(why), "{e}");
        }
    }

    /// The ConvTranspose back onto the input: end pads where the windows overrun the input
    /// (ceil_mode: 10 → 5), output_padding where they stop short of it (floor mode: 10 → 4
    /// leaves the last row unread).
    #[test]
    fn transpose_restores_the_input_size() {
        let n = pool(vec![a_ints("kernel_shape", &[3]), a_ints("strides", &[2])]);
        let attr = |a: &[AttributeProto], name: &str| {
            a.iter()
                .find(|x| x.name.as_deref() == Some(name))
                .expect("attribute")
                .ints
                .clone()
        };
        let w = Window::of(&n, &[10], None).expect("window");
        let a = w.transpose_attrs(&[10], &[4]);
        assert_eq!(
            (attr(&a, "pads"), attr(&a, "output_padding")),
            (vec![0, 0], vec![1])
        );
        let a = w.transpose_attrs(&[10], &[5]);
        assert_eq!(
            (attr(&a, "pads"), attr(&a, "output_padding")),
            (vec![0, 1], vec![0])
        );
    }
}
