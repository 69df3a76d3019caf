import torch

from config import BackboneConfig, HeadConfig, ModelConfig
from model import build_classifier
from optimizer import build_optimizer


def test_backbone_frozen_head_learns(impl):
    torch.manual_seed(0)
    model = build_classifier(ModelConfig(backbone=BackboneConfig(depth=18, num_stages=1, out_indices=(0,),
                                                                 base_channels=4, stem_channels=4),
                                         head=HeadConfig(in_channels=4)))
    model.init_weights()
    optimizer = build_optimizer(model, impl.make_optimizer_config())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for _ in range(3):
        data = {'img': torch.randn(8, 3, 16, 16), 'gt_label': torch.randint(0, 10, (8,))}
        loss = model.train_step(data)['loss']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = model.state_dict()
    for k, v in model.named_parameters():
        if k.startswith('backbone.'):
            assert torch.equal(before[k], after[k]), f'{k} changed'
    assert not torch.equal(before['head.fc.weight'], after['head.fc.weight'])
