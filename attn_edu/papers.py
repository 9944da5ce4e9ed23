"""Every paper the book cites, and every published figure it quotes, in one table.

Chapters, the README and the module docstrings take their citations from
here, and a chapter never types a published number itself: it asks this
table, which says where the number was published.

    >>> from attn_edu import papers
    >>> papers.paper("se").short
    'Hu et al. 2018'
    >>> papers.figure("cbam.table4.se_resnet50_params").published()
    'published 28.09M (Table 4 of Woo et al. 2018)'
    >>> print(papers.compare("cbam.table4.se_resnet50_params", 28.088024))
    SE-ResNet-50, parameters (millions): ours 28.09M, published 28.09M (Table 4 of Woo et al. 2018)

``tests/test_papers.py`` checks that each module docstring cites its paper
exactly as ``Paper.citation()`` writes it, that the README's table agrees
with this one, and that no chapter types a published figure instead of
asking for it here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Paper", "Figure", "PAPERS", "FIGURES", "paper", "figure", "compare", "readme_table"]


@dataclass(frozen=True)
class Paper:
    """A paper (or a vendor document) the book cites.

    ``venue`` is where it appeared ("CVPR", "IEEE Transactions on ..."),
    ``arxiv`` or ``doi`` identify it, and ``code`` is the official
    repository (``owner/name`` on GitHub), or None where there is none.
    """

    key: str
    authors: tuple[str, ...]
    title: str
    venue: str
    year: int
    arxiv: str | None = None
    doi: str | None = None
    code: str | None = None

    @property
    def short(self) -> str:
        """'Hu et al. 2018', 'Woo et al. 2018'; a single author or a company stands alone."""
        surname = self.authors[0].split()[-1]
        if len(self.authors) == 1:
            return f"{self.authors[0]} {self.year}"
        if len(self.authors) == 2:
            return f"{surname} and {self.authors[1].split()[-1]} {self.year}"
        return f"{surname} et al. {self.year}"

    @property
    def identifier(self) -> str:
        """'arXiv:1709.01507', or 'DOI 10.1109/...' where there is no arXiv version."""
        if self.arxiv:
            return f"arXiv:{self.arxiv}"
        if self.doi:
            return f"DOI {self.doi}"
        return ""

    def citation(self) -> str:
        """The full citation, as the module docstrings give it.

        'Jie Hu, Li Shen, Gang Sun. "Squeeze-and-Excitation Networks." CVPR 2018. arXiv:1709.01507.'
        """
        text = f'{", ".join(self.authors)}. "{self.title}." {self.venue} {self.year}.'
        return f"{text} {self.identifier}." if self.identifier else text


@dataclass(frozen=True)
class Figure:
    """A number a paper published: ``value`` in ``unit``, from ``source`` of paper ``paper``.

    ``what`` says what was measured ("SE-ResNet-50, parameters (millions)"),
    ``source`` where in the paper ("Table 4", "Section 4", "abstract"), and
    ``digits`` how many decimals the paper prints.
    """

    key: str
    paper: str
    source: str
    what: str
    value: float
    unit: str = ""
    digits: int = 0

    def text(self, value: float | None = None) -> str:
        """The value as the paper prints it ('28.09M'), or another value in the same format."""
        value = self.value if value is None else value
        return f"{value:,.{self.digits}f}{self.unit}"

    @property
    def where(self) -> str:
        """'Table 4 of Woo et al. 2018'; for a vendor's document, its title, year and the row quoted."""
        source = paper(self.paper)
        if len(source.authors) == 1:
            return f"{source.title} {source.year}, {self.source}"
        return f"{self.source} of {source.short}"

    def published(self) -> str:
        """'published 28.09M (Table 4 of Woo et al. 2018)'."""
        return f"published {self.text()} ({self.where})"


def _paper(key, authors, title, venue, year, arxiv=None, doi=None, code=None) -> Paper:
    return Paper(key, tuple(authors), title, venue, year, arxiv, doi, code)


PAPERS: dict[str, Paper] = {
    p.key: p
    for p in [
        _paper(
            "se",
            ["Jie Hu", "Li Shen", "Gang Sun"],
            "Squeeze-and-Excitation Networks",
            "CVPR",
            2018,
            arxiv="1709.01507",
            code="hujie-frank/SENet",
        ),
        _paper(
            "se-tpami",
            ["Jie Hu", "Li Shen", "Samuel Albanie", "Gang Sun", "Enhua Wu"],
            "Squeeze-and-Excitation Networks",
            "IEEE Transactions on Pattern Analysis and Machine Intelligence",
            2020,
            arxiv="1709.01507",
            doi="10.1109/TPAMI.2019.2913372",
            code="hujie-frank/SENet",
        ),
        _paper(
            "scse",
            ["Abhijit Guha Roy", "Nassir Navab", "Christian Wachinger"],
            "Concurrent Spatial and Channel 'Squeeze & Excitation' in Fully Convolutional Networks",
            "MICCAI",
            2018,
            arxiv="1803.02579",
            doi="10.1007/978-3-030-00928-1_48",
            code="ai-med/squeeze_and_excitation",
        ),
        _paper(
            "scse-tmi",
            ["Abhijit Guha Roy", "Nassir Navab", "Christian Wachinger"],
            "Recalibrating Fully Convolutional Networks With Spatial and Channel 'Squeeze and Excitation' Blocks",
            "IEEE Transactions on Medical Imaging",
            2019,
            arxiv="1808.08127",
            doi="10.1109/TMI.2018.2867261",
            code="ai-med/squeeze_and_excitation",
        ),
        _paper(
            "cbam",
            ["Sanghyun Woo", "Jongchan Park", "Joon-Young Lee", "In So Kweon"],
            "CBAM: Convolutional Block Attention Module",
            "ECCV",
            2018,
            arxiv="1807.06521",
            code="Jongchan/attention-module",
        ),
        _paper(
            "bam",
            ["Jongchan Park", "Sanghyun Woo", "Joon-Young Lee", "In So Kweon"],
            "BAM: Bottleneck Attention Module",
            "BMVC",
            2018,
            arxiv="1807.06514",
            code="Jongchan/attention-module",
        ),
        _paper(
            "eca",
            ["Qilong Wang", "Banggu Wu", "Pengfei Zhu", "Peihua Li", "Wangmeng Zuo", "Qinghua Hu"],
            "ECA-Net: Efficient Channel Attention for Deep Convolutional Neural Networks",
            "CVPR",
            2020,
            arxiv="1910.03151",
            code="BangguWu/ECANet",
        ),
        _paper(
            "sk",
            ["Xiang Li", "Wenhai Wang", "Xiaolin Hu", "Jian Yang"],
            "Selective Kernel Networks",
            "CVPR",
            2019,
            arxiv="1903.06586",
            code="implus/SKNet",
        ),
        _paper(
            "drsn",
            ["Minghang Zhao", "Shisheng Zhong", "Xuyun Fu", "Baoping Tang", "Michael Pecht"],
            "Deep Residual Shrinkage Networks for Fault Diagnosis",
            "IEEE Transactions on Industrial Informatics",
            2020,
            doi="10.1109/TII.2019.2943898",
            code="zhao62/Deep-Residual-Shrinkage-Networks",
        ),
        _paper(
            "nonlocal",
            ["Xiaolong Wang", "Ross Girshick", "Abhinav Gupta", "Kaiming He"],
            "Non-local Neural Networks",
            "CVPR",
            2018,
            arxiv="1711.07971",
            code="facebookresearch/video-nonlocal-net",
        ),
        _paper(
            "transformer",
            [
                "Ashish Vaswani",
                "Noam Shazeer",
                "Niki Parmar",
                "Jakob Uszkoreit",
                "Llion Jones",
                "Aidan N. Gomez",
                "Łukasz Kaiser",
                "Illia Polosukhin",
            ],
            "Attention Is All You Need",
            "NIPS",  # the conference's name in 2017; NeurIPS since 2018
            2017,
            arxiv="1706.03762",
            code="tensorflow/tensor2tensor",
        ),
        _paper(
            "flashattention",
            ["Tri Dao", "Daniel Y. Fu", "Stefano Ermon", "Atri Rudra", "Christopher Ré"],
            "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness",
            "NeurIPS",
            2022,
            arxiv="2205.14135",
            code="Dao-AILab/flash-attention",
        ),
        _paper(
            "resnet",
            ["Kaiming He", "Xiangyu Zhang", "Shaoqing Ren", "Jian Sun"],
            "Deep Residual Learning for Image Recognition",
            "CVPR",
            2016,
            arxiv="1512.03385",
            code="KaimingHe/deep-residual-networks",
        ),
        _paper(
            "resnext",
            ["Saining Xie", "Ross Girshick", "Piotr Dollár", "Zhuowen Tu", "Kaiming He"],
            "Aggregated Residual Transformations for Deep Neural Networks",
            "CVPR",
            2017,
            arxiv="1611.05431",
            code="facebookresearch/ResNeXt",
        ),
        _paper(
            "unet",
            ["Olaf Ronneberger", "Philipp Fischer", "Thomas Brox"],
            "U-Net: Convolutional Networks for Biomedical Image Segmentation",
            "MICCAI",
            2015,
            arxiv="1505.04597",
        ),
        _paper(
            "roofline",
            ["Samuel Williams", "Andrew Waterman", "David Patterson"],
            "Roofline: An Insightful Visual Performance Model for Multicore Architectures",
            "Communications of the ACM",
            2009,
            doi="10.1145/1498765.1498785",
        ),
        _paper(
            "triton",
            ["Philippe Tillet", "H. T. Kung", "David Cox"],
            "Triton: An Intermediate Language and Compiler for Tiled Neural Network Computations",
            "MAPL",
            2019,
            doi="10.1145/3315508.3329973",
            code="triton-lang/triton",
        ),
        _paper("h100", ["NVIDIA"], "NVIDIA H100 Tensor Core GPU data sheet", "NVIDIA", 2023),
        _paper("h100-pcie", ["NVIDIA"], "NVIDIA H100 PCIe GPU product brief", "NVIDIA", 2022),
        _paper("h200", ["NVIDIA"], "NVIDIA H200 Tensor Core GPU data sheet", "NVIDIA", 2024),
        _paper(
            "gcnet",
            ["Yue Cao", "Jiarui Xu", "Stephen Lin", "Fangyun Wei", "Han Hu"],
            "GCNet: Non-local Networks Meet Squeeze-Excitation Networks and Beyond",
            "ICCV Workshops",
            2019,
            arxiv="1904.11492",
            doi="10.1109/ICCVW.2019.00246",
            code="xvjiarui/GCNet",
        ),
    ]
}


FIGURES: dict[str, Figure] = {
    f.key: f
    for f in [
        # SE: the parameter cost in ResNet-50, in words.
        Figure("se.section4.resnet50_extra_params", "se", "Section 4", "SE-ResNet-50, extra parameters (millions)", 2.5, "M", 1),
        # The CBAM paper's comparison table counts the SE networks' parameters.
        Figure("cbam.table4.resnet50_params", "cbam", "Table 4", "ResNet-50, parameters (millions)", 25.56, "M", 2),
        Figure("cbam.table4.se_resnet50_params", "cbam", "Table 4", "SE-ResNet-50, parameters (millions)", 28.09, "M", 2),
        Figure("cbam.table4.cbam_resnet50_params", "cbam", "Table 4", "CBAM-ResNet-50, parameters (millions)", 28.09, "M", 2),
        Figure("cbam.table4.se_resnext50_params", "cbam", "Table 4", "SE-ResNeXt-50 (32x4d), parameters (millions)", 27.56, "M", 2),
        # ECA.
        Figure("eca.abstract.resnet50_params", "eca", "the abstract", "ECA modules in ResNet-50, parameters", 80),
        Figure("eca.table2.se_top1", "eca", "Table 2", "SE (ResNet-50), top-1 accuracy (%)", 76.71, "%", 2),
        Figure("eca.table2.se_var1_top1", "eca", "Table 2", "SE-Var1, top-1 accuracy (%)", 76.00, "%", 2),
        Figure("eca.table2.se_var2_top1", "eca", "Table 2", "SE-Var2, top-1 accuracy (%)", 77.07, "%", 2),
        Figure("eca.table2.se_var3_top1", "eca", "Table 2", "SE-Var3, top-1 accuracy (%)", 77.42, "%", 2),
        Figure("eca.table3.resnet50_inference_fps", "eca", "Table 3", "ResNet-50, inference (FPS)", 1855, " FPS"),
        Figure("eca.table3.se_resnet50_inference_fps", "eca", "Table 3", "SE-ResNet-50, inference (FPS)", 1620, " FPS"),
        Figure("eca.table3.eca_resnet50_inference_fps", "eca", "Table 3", "ECA-ResNet-50, inference (FPS)", 1805, " FPS"),
        Figure("eca.table3.resnet50_training_fps", "eca", "Table 3", "ResNet-50, training (FPS)", 1024, " FPS"),
        Figure("eca.table3.se_resnet50_training_fps", "eca", "Table 3", "SE-ResNet-50, training (FPS)", 759, " FPS"),
        Figure("eca.table3.eca_resnet50_training_fps", "eca", "Table 3", "ECA-ResNet-50, training (FPS)", 785, " FPS"),
        # SK.
        Figure("sk.table2.sknet50_params", "sk", "Table 2", "SKNet-50, parameters (millions)", 27.5, "M", 1),
        # GPUs (chapter 11).
        # The data sheet prints bfloat16 Tensor Core throughput with 2:4 sparsity; dense is half of it.
        Figure("h100.datasheet.bf16_sparse_tflops", "h100", "H100 SXM, BF16 Tensor Core (with sparsity)", "H100 SXM, bfloat16 with sparsity (TFLOP/s)", 1979, " TFLOP/s"),
        Figure("h100.datasheet.bandwidth_tbps", "h100", "H100 SXM, GPU memory bandwidth", "H100 SXM, memory bandwidth (TB/s)", 3.35, " TB/s", 2),
        Figure("h100-pcie.brief.bandwidth_tbps", "h100-pcie", "memory bandwidth (more than 2,000 GB/s)", "H100 PCIe, memory bandwidth (TB/s)", 2.0, " TB/s", 1),
        Figure("h200.datasheet.bandwidth_tbps", "h200", "H200 SXM, GPU memory bandwidth", "H200 SXM, memory bandwidth (TB/s)", 4.8, " TB/s", 1),
        Figure("eca.table2.vanilla_top1", "eca", "Table 2", "ResNet-50 without attention (Vanilla), top-1 accuracy (%)", 75.20, "%", 2),
        Figure("se-tpami.section4.resnet50_extra_params_pct", "se-tpami", "Section 4", "SE-ResNet-50, extra parameters (% of ResNet-50)", 10, "%", 0),
        Figure("se-tpami.section4.extra_params_pct_without_last_stage", "se-tpami", "Section 4", "SE-ResNet-50 without SE in the last stage, extra parameters (% of ResNet-50)", 4, "%", 0),
        Figure("se-tpami.table14.se_top1_err", "se-tpami", "Table 14", "SE-ResNet-50, standard SE, ImageNet top-1 error (%)", 22.28, "%", 2),
        Figure("se-tpami.table14.se_pre_top1_err", "se-tpami", "Table 14", "SE-ResNet-50, SE-PRE, ImageNet top-1 error (%)", 22.23, "%", 2),
        Figure("se-tpami.table14.se_post_top1_err", "se-tpami", "Table 14", "SE-ResNet-50, SE-POST, ImageNet top-1 error (%)", 22.78, "%", 2),
        Figure("se-tpami.table14.se_identity_top1_err", "se-tpami", "Table 14", "SE-ResNet-50, SE-Identity, ImageNet top-1 error (%)", 22.20, "%", 2),
        Figure("scse.section2.unet_params", "scse", "Section 2", "the paper's U-Net, parameters", 2.1, " x 10^6", 1),
        Figure("scse.section2.scse_unet_params", "scse", "Section 2", "scSE blocks in the paper's U-Net, added parameters", 3.3, " x 10^4", 1),
        Figure("drsn.table3.resnet_test_acc", "drsn", "Table III", "ResNet, test accuracy averaged over three noise types and the SNRs (%)", 86.25, "%", 2),
        Figure("drsn.table3.drsn_cs_test_acc", "drsn", "Table III", "DRSN-CS, test accuracy averaged over three noise types and the SNRs (%)", 88.55, "%", 2),
        Figure("drsn.table3.drsn_cw_test_acc", "drsn", "Table III", "DRSN-CW, test accuracy averaged over three noise types and the SNRs (%)", 89.57, "%", 2),
        Figure("drsn.table5.resnet_time", "drsn", "Table V", "ResNet, computational time of the model optimisation (s)", 978.04, " s", 2),
        Figure("drsn.table5.drsn_cs_time", "drsn", "Table V", "DRSN-CS, computational time of the model optimisation (s)", 1585.33, " s", 2),
        Figure("drsn.table5.drsn_cw_time", "drsn", "Table V", "DRSN-CW, computational time of the model optimisation (s)", 1511.11, " s", 2),
        Figure("sk.table2.resnext50_params", "sk", "Table 2", "ResNeXt-50 (32x4d), parameters (millions)", 25.0, "M", 1),
        Figure("sk.table2.sknet50_top1_err", "sk", "Table 2", "SKNet-50, ImageNet top-1 error, 224 x 224 crop (%)", 20.79, "%", 2),
        Figure("sk.table2.resnext50_top1_err", "sk", "Table 2", "ResNeXt-50 (32x4d), ImageNet top-1 error, 224 x 224 crop (%)", 22.23, "%", 2),
        Figure("transformer.section3.d_k", "transformer", "Section 3.2.2", "base Transformer, key width d_k of each head", 64),
    ]
}


def paper(key: str) -> Paper:
    """The paper called ``key`` ("se", "cbam", ...); the error lists the keys there are."""
    try:
        return PAPERS[key]
    except KeyError:
        raise KeyError(f"no paper {key!r} in attn_edu.papers; there are {sorted(PAPERS)}") from None


def figure(key: str) -> Figure:
    """The published figure called ``key`` ("cbam.table4.se_resnet50_params", ...)."""
    try:
        return FIGURES[key]
    except KeyError:
        raise KeyError(f"no figure {key!r} in attn_edu.papers; there are {sorted(FIGURES)}") from None


def compare(key: str, ours: float) -> str:
    """One line: what was measured, our number, the published one and where it was published.

    ``ours`` is in the figure's own unit (millions of parameters for a 'M' figure).
    """
    f = figure(key)
    return f"{f.what}: ours {f.text(ours)}, {f.published()}"


README_MODULES = [
    ("`se`", "`SqueezeExcitation`", "se"),
    ("`cse`, `sse`, `scse`", "`ChannelSE`, `SpatialSE`, `ConcurrentSE`", "scse"),
    ("`cbam`", "`CBAM`", "cbam"),
    ("`bam`", "`BAM`", "bam"),
    ("`eca`", "`EfficientChannelAttention`", "eca"),
    ("`sk`", "`SelectiveKernel`", "sk"),
    ("`drsn-cs`, `drsn-cw`", "`Shrinkage`, `ResidualShrinkageUnit`", "drsn"),
    ("`nonlocal`", "`NonLocalBlock`", "nonlocal"),
]


def readme_table() -> str:
    """The README's table of mechanisms, modules and papers, written from this table."""
    rows = ["| name | module | paper | official code |", "| --- | --- | --- | --- |"]
    for names, module, key in README_MODULES:
        p = paper(key)
        rows.append(f"| {names} | {module} | {p.citation()} | {p.code or 'none'} |")
    return "\n".join(rows)
