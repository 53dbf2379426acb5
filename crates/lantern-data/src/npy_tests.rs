//! Tests of `npy.rs`.
use super::*;
use ndarray::{Array2, Array3, arr0, array};

use crate::testing::reference_dir;

fn reference_input() -> PathBuf {
    reference_dir().join("mobilenetv2/cat_dog-t243_input.npy")
}

#[test]
fn reads_reference_input_and_rewrites_identical_bytes() {
    lantern_core::skip_without_reference!();
    let path = reference_input();
    let array = read_npy::<f32>(&path).unwrap();
    assert_eq!(array.shape(), &[1, 3, 224, 224]);
    // Normalised ImageNet inputs lie within about [-2.2, 2.7].
    assert!(array.iter().all(|v| v.is_finite() && v.abs() < 3.0));
    assert_eq!(write_npy_bytes(&array), fs::read(&path).unwrap());
}

#[test]
fn reads_through_a_symbolic_link() {
    lantern_core::skip_without_reference!();
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("link.npy");
    std::os::unix::fs::symlink(reference_input(), &link).unwrap();
    assert_eq!(read_npy::<f32>(&link).unwrap().shape(), &[1, 3, 224, 224]);
}

#[test]
fn round_trips_every_dtype_and_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("round trip ä.npy");

    let f32s = Array3::from_shape_fn((2, 3, 4), |(a, b, c)| (a * 100 + b * 10 + c) as f32 - 7.5);
    write_npy(&path, &f32s).unwrap();
    assert_eq!(read_npy::<f32>(&path).unwrap(), f32s.clone().into_dyn());

    // A transposed view is written in its logical C order, not its memory order.
    let f64s = Array2::from_shape_fn((3, 5), |(i, j)| i as f64 * 0.1 + j as f64);
    let transposed = f64s.t();
    write_npy(&path, &transposed).unwrap();
    assert_eq!(
        read_npy::<f64>(&path).unwrap(),
        transposed.to_owned().into_dyn()
    );

    let i64s = array![i64::MIN, -1, 0, 1, i64::MAX];
    write_npy(&path, &i64s).unwrap();
    assert_eq!(read_npy::<i64>(&path).unwrap(), i64s.into_dyn());

    let u8s = Array2::<u8>::from_shape_fn((2, 0), |_| 0);
    write_npy(&path, &u8s).unwrap();
    assert_eq!(read_npy::<u8>(&path).unwrap(), u8s.into_dyn());

    let scalar = arr0(42.0f32);
    write_npy(&path, &scalar).unwrap();
    assert_eq!(read_npy::<f32>(&path).unwrap(), scalar.into_dyn());
}

#[test]
fn headers_match_numpy_byte_for_byte() {
    // Produced by numpy 2.4 `np.save` for np.zeros(5, f32), np.zeros((), i64),
    // np.zeros((2, 0), u8).
    let expected = [
        (
            NpyDtype::F32,
            vec![5],
            "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }",
        ),
        (
            NpyDtype::I64,
            vec![],
            "{'descr': '<i8', 'fortran_order': False, 'shape': (), }",
        ),
        (
            NpyDtype::U8,
            vec![2, 0],
            "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 0), }",
        ),
    ];
    for (dtype, shape, dict) in expected {
        let header = npy_header(dtype, &shape);
        assert_eq!(header.len(), 128);
        assert_eq!(&header[..10], b"\x93NUMPY\x01\x00v\x00");
        let text = std::str::from_utf8(&header[10..]).unwrap();
        assert_eq!(text.trim_end(), dict);
        assert!(text.ends_with('\n'));
    }
}

#[test]
fn long_shapes_switch_to_version_2() {
    let shape = vec![1usize; 30_000];
    let header = npy_header(NpyDtype::U8, &shape);
    assert_eq!(header[6], 2);
    assert_eq!(header.len() % ARRAY_ALIGN, 0);
    let mut bytes = header;
    bytes.push(7);
    match parse_npy_bytes(&bytes, Path::new("v2.npy")).unwrap() {
        NpyArray::U8(a) => assert_eq!(a.ndim(), 30_000),
        other => panic!("wrong dtype {:?}", other.dtype()),
    }
}

#[test]
fn reads_big_endian_data() {
    let mut bytes = npy_header(NpyDtype::F32, &[2]);
    let text_start = 10;
    let pos = bytes[text_start..]
        .windows(3)
        .position(|w| w == b"<f4")
        .unwrap();
    bytes[text_start + pos] = b'>';
    bytes.extend_from_slice(&1.5f32.to_be_bytes());
    bytes.extend_from_slice(&(-2.0f32).to_be_bytes());
    let NpyArray::F32(a) = parse_npy_bytes(&bytes, Path::new("be.npy")).unwrap() else {
        panic!("expected float32")
    };
    assert_eq!(a.into_raw_vec_and_offset().0, vec![1.5, -2.0]);
}

#[test]
fn errors_name_the_file_and_the_problem() {
    let origin = Path::new("maps/x.npy");
    let mut fortran = write_npy_bytes(&array![1.0f32]);
    let pos = fortran.windows(5).position(|w| w == b"False").unwrap();
    fortran[pos..pos + 5].copy_from_slice(b"True ");
    let err = parse_npy_bytes(&fortran, origin).unwrap_err().to_string();
    assert!(
        err.contains("maps/x.npy") && err.contains("Fortran"),
        "{err}"
    );

    let mut complex = npy_header(NpyDtype::F64, &[1]);
    let pos = complex.windows(3).position(|w| w == b"<f8").unwrap();
    complex[pos + 1..pos + 3].copy_from_slice(b"c8");
    complex.extend_from_slice(&[0; 8]);
    let err = parse_npy_bytes(&complex, origin).unwrap_err().to_string();
    assert!(err.contains("<c8") && err.contains("maps/x.npy"), "{err}");

    let mut truncated = write_npy_bytes(&array![1.0f32, 2.0, 3.0]);
    truncated.truncate(truncated.len() - 2);
    let err = parse_npy_bytes(&truncated, origin).unwrap_err().to_string();
    assert!(
        err.contains("needs 12 data bytes") && err.contains("has 10"),
        "{err}"
    );

    let err = parse_npy_bytes(b"hello world", origin)
        .unwrap_err()
        .to_string();
    assert!(err.contains("magic"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u8.npy");
    write_npy(&path, &array![1u8, 2]).unwrap();
    let err = read_npy::<f32>(&path).unwrap_err().to_string();
    assert!(err.contains("uint8") && err.contains("float32"), "{err}");

    let err = read_npy_any(dir.path().join("absent.npy"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("absent.npy"), "{err}");
}
