"""The course's Chinese terms: one word for each idea, in every notebook.

The interview questions are written in Traditional characters with the vocabulary of
mainland textbooks (網絡, 數據, 歸一化, 卷積神經網絡); the notebooks follow them. Each row
is the English term, the course's word, and the words it replaces (Taiwanese usage or a
second translation). The questions themselves are quoted as asked (the ``> **A14** ...``
line of a notebook), so they are exempt; everything else a notebook says is checked by
``tests/test_structure.py``.

    python -m medgrade.glossary          prints the table (Markdown)
"""
from __future__ import annotations

import re
import sys
from typing import NamedTuple


class Term(NamedTuple):
    english: str
    word: str
    not_: tuple[str, ...] = ()


TERMS: tuple[Term, ...] = (
    # general
    Term("network", "網絡", ("網路",)),
    Term("data", "數據", ("資料",)),
    Term("dataset", "數據集", ("資料集",)),
    Term("implementation, to implement", "實現", ("實作",)),
    Term("to optimize", "優化", ("最佳化",)),
    Term("parameter count", "參數量"),
    Term("floating-point operations (FLOPs)", "浮點運算量"),
    Term("resolution", "分辨率", ("解析度",)),
    Term("super-resolution", "超分辨率"),
    Term("transfer learning", "遷移學習", ("轉移學習",)),
    Term("sampling", "採樣", ("取樣",)),
    Term("down-sampling", "下採樣", ("降採樣",)),
    Term("object detection", "物體檢測", ("物件偵測", "目標偵測")),
    # layers
    Term("convolutional neural network", "卷積神經網絡"),
    Term("convolutional layer", "卷積層"),
    Term("convolution kernel", "卷積核"),
    Term("feature map", "特徵圖"),
    Term("receptive field", "感受野"),
    Term("stride", "步長", ("步幅",)),
    Term("padding", "填充"),
    Term("dilated convolution", "空洞卷積", ("擴張卷積", "膨脹卷積")),
    Term("transposed convolution", "轉置卷積"),
    Term("cross-correlation", "互相關"),
    Term("weight sharing", "權重共享", ("權值共享",)),
    Term("activation function", "激活函數", ("啟動函數", "激勵函數")),
    Term("fully connected layer", "全連接層"),
    Term("pooling layer; max / average / global average pooling", "池化層；最大池化、平均池化、全局平均池化",
         ("匯集層", "全域平均池化")),
    Term("translation invariance / equivariance", "平移不變性、平移等變性"),
    Term("skip connection", "跳躍連接"),
    Term("batch normalization", "批量歸一化", ("批次正規化", "批次歸一化", "批量正規化", "批正規化")),
    Term("layer normalization", "層歸一化", ("層正規化",)),
    Term("normalization", "歸一化", ("正規化",)),
    # training
    Term("loss function", "損失函數"),
    Term("cross entropy", "交叉熵"),
    Term("focal loss", "焦點損失"),
    Term("label smoothing", "標籤平滑"),
    Term("class imbalance", "類別不平衡"),
    Term("overfitting", "過擬合", ("過度擬合", "過度配適")),
    Term("regularization", "正則化"),
    Term("gradient; back-propagation", "梯度；反向傳播", ("反向傳遞",)),
    Term("learning rate", "學習率"),
    Term("optimizer", "優化器", ("最佳化器",)),
    Term("momentum", "動量"),
    Term("weight decay", "權重衰減", ("權值衰減",)),
    Term("early stopping", "早停", ("提前停止",)),
    Term("data augmentation", "數據增強", ("資料擴增", "數據擴增", "資料增強")),
    Term("vanishing / exploding gradient", "梯度消失／梯度爆炸"),
    Term("(parameter) initialization", "（網絡參數）初始化"),
    Term("gradient clipping", "梯度裁剪", ("梯度截斷",)),
    Term("hyper-parameter", "超參數"),
    Term("learning-rate schedule", "學習率調度", ("學習率排程",)),
    Term("warm-up (of the learning rate)", "預熱", ("熱身",)),
    Term("cosine annealing", "餘弦退火"),
    Term("learning-rate range test", "學習率範圍測試"),
    Term("grid search; random search", "網格搜索；隨機搜索", ("網格搜尋", "隨機搜尋")),
    Term("confusion matrix", "混淆矩陣"),
    Term("sensitivity", "靈敏度", ("敏感度",)),
    Term("specificity", "特異度", ("特異性",)),
    # sequences and attention
    Term("recurrent neural network (RNN)", "循環神經網絡", ("遞歸神經網絡", "遞迴神經網絡")),
    Term("long short-term memory (LSTM)", "長短期記憶網絡"),
    Term("gated recurrent unit (GRU)", "門控循環單元"),
    Term("self-attention; multi-head attention", "自注意力；多頭注意力", ("自我注意力",)),
    Term("positional encoding", "位置編碼"),
    # segmentation
    Term("segmentation; image segmentation", "分割；影像分割", ("切割",)),
    Term("pixel spacing (a pixel's size in mm)", "像素間距"),
    Term("semantic segmentation; instance segmentation", "語義分割；實例分割", ("語意分割",)),
    Term("encoder; decoder", "編碼器；解碼器"),
    # detection
    Term("intersection over union (IoU); generalized IoU", "交並比；廣義交並比"),
    Term("non-maximum suppression (NMS)", "非極大值抑制"),
    Term("bounding box", "邊界框"),
    Term("object tracking", "物體追蹤", ("目標追蹤", "物件追蹤", "目標跟蹤")),
    Term("data association (tracking)", "數據關聯", ("資料關聯",)),
    Term("Hungarian algorithm", "匈牙利算法", ("匈牙利演算法",)),
    Term("Kalman filter", "卡爾曼濾波"),
    Term("anchor box", "錨框", ("錨點框",)),
    Term("region proposal; region proposal network (RPN)", "候選區域；區域候選網絡", ("區域建議", "區域提議")),
    Term("selective search", "選擇性搜索", ("選擇性搜尋",)),
    Term("region of interest (RoI)", "感興趣區域"),
    Term("confidence score", "置信度", ("信心分數", "可信度")),
    Term("precision; recall", "精確率；召回率", ("查準率", "查全率")),
    Term("average precision (AP); mean average precision (mAP)", "平均精度；平均精度均值", ("平均準確率",)),
    Term("real-time", "實時", ("即時",)),
    # compression
    Term("pruning (structured / unstructured)", "剪枝（結構化、非結構化）"),
    Term("quantization", "量化"),
    Term("knowledge distillation", "知識蒸餾"),
    # distributed training
    Term("data parallelism", "數據並行", ("資料平行", "數據平行")),
    Term("distributed", "分布式", ("分散式", "分佈式")),
    Term("process", "進程"),
    Term("rank (a process's number in the group)", "進程編號", ("行程編號",)),
    Term("all-reduce", "全規約", ("全歸約",)),
    Term("gradient accumulation", "梯度累積"),
    Term("mixed precision", "混合精度"),
)

_QUESTION = re.compile(r"^>\s*\*\*[A-C]\d\d\*\*")        # the interview question, quoted as asked


def rejected_words() -> dict[str, str]:
    """Each word the course does not use -> the course's word for it."""
    return {bad: term.word for term in TERMS for bad in term.not_}


def misuses(text: str) -> list[tuple[str, str]]:
    """(word found, the course's word) for each line of ``text`` that is not a quoted question."""
    found = []
    table = rejected_words()
    for line in text.splitlines():
        if _QUESTION.match(line.strip()):
            continue
        found += [(bad, good) for bad, good in table.items() if bad in line]
    return found


def markdown() -> str:
    rows = ["| English | 本課程用詞 | 不用 |", "|---|---|---|"]
    rows += [f"| {t.english} | {t.word} | {'、'.join(t.not_)} |" for t in TERMS]
    return "\n".join(rows)


if __name__ == "__main__":
    sys.stdout.write(markdown() + "\n")
