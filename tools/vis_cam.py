"""Where in an image the model looked for its class: a class activation map (mmcls 0.25:
tools/visualizations/vis_cam.py; the work: extras/after_training/cam.py). Needs grad-cam,
an optional extra: pip install grad-cam.

    python tools/vis_cam.py data/demo_folder/val/00026.jpg configs/demo_folder.py \\
        work_dirs/demo_folder/latest.pth --save-path cam.png
    python tools/vis_cam.py IMG CONFIG CHECKPOINT --preview-model        # the layers' names
    python tools/vis_cam.py IMG CONFIG CHECKPOINT --target-layers backbone.layer3.1.bn2 \\
        --method gradcam++ --target-category 3 --save-path cam.png

The picture: the input (after data.test's pipeline) and the CAM over it. By default the
target layer is the backbone's last normalisation layer and the target the predicted class.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from extras.after_training.cam import METHODS, cam_picture, grad_cam_classes  # noqa: E402
from extras.after_training.common import ToolError, load_cfg, run_tool, save_png  # noqa: E402
from extras.after_training.inference import init_model  # noqa: E402
from extras.run.device import resolve_device  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description='Visualize CAM')
    parser.add_argument('img', help='Image file')
    parser.add_argument('config', help='Config file')
    parser.add_argument('checkpoint', help='Checkpoint file')
    parser.add_argument('--target-layers', default=[], nargs='+',
                        help="the layers to get the CAM of (default: the backbone's last "
                        'norm layer)')
    parser.add_argument('--preview-model', action='store_true',
                        help='print the model (its layers) and stop')
    parser.add_argument('--method', default='GradCAM', help=f'one of {", ".join(METHODS)}')
    parser.add_argument('--target-category', default=[], nargs='+', type=int,
                        help='the classes to get the CAM for (default: the predicted one)')
    parser.add_argument('--eigen-smooth', action='store_true',
                        help='reduce noise: the first principal component of '
                        'cam_weights*activations')
    parser.add_argument('--aug-smooth', action='store_true', help='test-time augmentation')
    parser.add_argument('--save-path', help='the PNG to write')
    parser.add_argument('--device', default='cpu', help='cpu (the default, as mmcls), auto, cuda, '
                        'cuda:N or mps')
    parser.add_argument('--cfg-options', nargs='+', default=[], help='key=value overrides')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    grad_cam_classes()                           # installed? before anything is read
    cfg = load_cfg(args.config, args.cfg_options)
    model = init_model(cfg, args.checkpoint, resolve_device(args.device))
    if args.preview_model:
        print(model)
        print('\n Please remove `--preview-model` to get the CAM.')
        return
    if not args.save_path:
        raise ToolError('nothing to write: give --save-path (a PNG)')
    if not os.path.isfile(args.img):
        raise ToolError(f'image {args.img!r} is not a file')
    picture, pred = cam_picture(cfg, model, args.img, args.method, args.target_layers,
                                args.target_category, args.eigen_smooth, args.aug_smooth)
    save_png(picture, args.save_path)
    print(f'The CAM of {args.img} is saved at {args.save_path}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
